import {
  cpuTimes,
  kafkaPid,
  machineCpu,
  peakRssMB,
  postgresCpuSeconds,
  resetPeakRss,
  type MachineCpu,
} from './proc-stats.ts';

/** CPU seconds spent between two snapshots, by who spent them. */
export interface CpuSpent {
  /** Each of our processes (and each baseline server) by name. */
  processes: Record<string, number>;
  /** The sum over `processes`. */
  ours: number;
  postgres: number | undefined;
  kafka: number | undefined;
  /** The load generator (its own process, on the same cores): reported, never counted in `ours`. */
  loadGenerator: number;
  /**
   * The whole machine over the same interval (/proc/stat, seconds summed over cores): busy, idle and steal. Busy
   * well above ours + PostgreSQL + Kafka + the generator, or any steal, means a neighbour was at work.
   */
  machine?: MachineCpu | undefined;
}

interface Snapshot {
  processes: Record<string, number>;
  postgres: number | undefined;
  kafka: number | undefined;
  loadGenerator: number;
  machine: MachineCpu | undefined;
}

/** The brokers whose CPU counts as Kafka's, when not the one single broker (a scenario on a cluster sets them). */
let brokerPids: readonly number[] | undefined;

/** Names the brokers of a cluster, so Kafka's CPU is the sum over them; undefined goes back to the single broker. */
export function setKafkaPids(pids: readonly number[] | undefined): void {
  brokerPids = pids;
}

/** The pid whose CPU counts as the load generator's (set while a generator process runs; this process otherwise). */
let loadGeneratorPid: number | undefined;

/** Names the load generator's process, so every CPU measurement reports what it spent. */
export function setLoadGeneratorPid(pid: number | undefined): void {
  loadGeneratorPid = pid;
}

function snapshot(pids: Record<string, number>): Snapshot {
  const processes: Record<string, number> = {};
  for (const [name, pid] of Object.entries(pids)) {
    processes[name] = cpuTimes(pid)?.self ?? 0;
  }
  const brokers = brokerPids ?? [kafkaPid()].flatMap((pid) => (pid === undefined ? [] : [pid]));
  const usage = process.cpuUsage();
  return {
    processes,
    postgres: postgresCpuSeconds(),
    kafka:
      brokers.length === 0 ? undefined : brokers.reduce((sum, pid) => sum + (cpuTimes(pid)?.self ?? 0), 0),
    loadGenerator:
      loadGeneratorPid === undefined
        ? (usage.user + usage.system) / 1e6
        : (cpuTimes(loadGeneratorPid)?.self ?? 0),
    machine: machineCpu(),
  };
}

const round = (value: number): number => Math.round(value * 1000) / 1000;
const delta = (after: number | undefined, before: number | undefined): number | undefined =>
  after === undefined || before === undefined ? undefined : round(Math.max(0, after - before));

/**
 * Starts measuring the CPU the given processes, PostgreSQL and Kafka spend, read from the OS's accounting (the
 * figure a noisy machine disturbs least: another tenant's load slows us but does not add to our CPU seconds). Note
 * that PostgreSQL and Kafka are shared with whatever else runs on the machine.
 */
export function measureCpu(pids: Record<string, number>): () => CpuSpent {
  const before = snapshot(pids);
  return () => {
    const after = snapshot(pids);
    const processes: Record<string, number> = {};
    for (const name of Object.keys(pids)) {
      processes[name] = delta(after.processes[name], before.processes[name]) ?? 0;
    }
    return {
      processes,
      ours: round(Object.values(processes).reduce((sum, value) => sum + value, 0)),
      postgres: delta(after.postgres, before.postgres),
      kafka: delta(after.kafka, before.kafka),
      loadGenerator: delta(after.loadGenerator, before.loadGenerator) ?? 0,
      machine:
        after.machine && before.machine
          ? {
              busy: round(after.machine.busy - before.machine.busy),
              idle: round(after.machine.idle - before.machine.idle),
              steal: round(after.machine.steal - before.machine.steal),
            }
          : undefined,
    };
  };
}

/** CPU seconds per card, rounded to microseconds of CPU. */
export function perCard(spent: CpuSpent, cards: number): CpuSpent {
  const per = (value: number): number => (cards > 0 ? Math.round((value / cards) * 1e6) / 1e6 : 0);
  return {
    processes: Object.fromEntries(Object.entries(spent.processes).map(([name, value]) => [name, per(value)])),
    ours: per(spent.ours),
    postgres: spent.postgres === undefined ? undefined : per(spent.postgres),
    kafka: spent.kafka === undefined ? undefined : per(spent.kafka),
    loadGenerator: per(spent.loadGenerator),
    machine: spent.machine && {
      busy: per(spent.machine.busy),
      idle: per(spent.machine.idle),
      steal: per(spent.machine.steal),
    },
  };
}

/** Whether the kernel lets VmHWM be reset for every one of these processes (so peaks cover a run alone). */
export function resetsPeakRss(pids: Record<string, number>): boolean {
  return Object.values(pids).every((pid) => resetPeakRss(pid));
}

/**
 * Tracks the peak RSS of each process over one scenario: VmHWM is reset at the start where the kernel allows it
 * (clear_refs); otherwise the peak covers the process's whole life, and `sinceStart` says so.
 */
export function trackPeakRss(
  pids: Record<string, number>,
): () => { peaks: Record<string, number>; sinceStart: boolean } {
  let sinceStart = true;
  for (const pid of Object.values(pids)) {
    sinceStart = resetPeakRss(pid) && sinceStart;
  }
  return () => {
    const peaks: Record<string, number> = {};
    for (const [name, pid] of Object.entries(pids)) {
      const peak = peakRssMB(pid);
      if (peak !== undefined) {
        peaks[name] = Math.round(peak * 10) / 10;
      }
    }
    return { peaks, sinceStart };
  };
}
