import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ); asked once, 100 on every common Linux. */
export const CLOCK_TICKS = ((): number => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU seconds a process spent, from the OS's accounting: its own, and that of its reaped children. */
export interface CpuTimes {
  self: number;
  children: number;
}

/** Reads utime+stime and cutime+cstime of /proc/<pid>/stat; undefined once the process is gone. */
export function cpuTimes(pid: number): CpuTimes | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces and parentheses: the fields that follow start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): utime is field 14, stime 15, cutime 16, cstime 17.
  const at = (field: number): number => Number(fields[field - 3] ?? 0);
  return { self: (at(14) + at(15)) / CLOCK_TICKS, children: (at(16) + at(17)) / CLOCK_TICKS };
}

/** Peak resident set size (VmHWM) in MB (10^6 bytes, as the target is stated); undefined once it is gone. */
export function peakRssMB(pid: number): number | undefined {
  try {
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match?.[1] ? (Number(match[1]) * 1024) / 1e6 : undefined;
  } catch {
    return undefined;
  }
}

/** Resets a process's VmHWM to its current RSS (Linux clear_refs 5), so a peak covers one scenario only. */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

interface ProcEntry {
  pid: number;
  ppid: number;
  comm: string;
}

function processes(): ProcEntry[] {
  const entries: ProcEntry[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) {
      continue;
    }
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      entries.push({ pid: Number(name), ppid, comm });
    } catch {
      // gone between the listing and the read
    }
  }
  return entries;
}

/**
 * CPU seconds of the whole PostgreSQL server so far: every live `postgres` process, plus what the postmaster's
 * exited children (backends of closed connections) spent, which the OS adds to its cutime/cstime when reaped.
 */
export function postgresCpuSeconds(): number | undefined {
  const all = processes().filter((entry) => entry.comm === 'postgres');
  const pids = new Set(all.map((entry) => entry.pid));
  const postmasters = all.filter((entry) => !pids.has(entry.ppid));
  if (all.length === 0) {
    return undefined;
  }
  let total = 0;
  for (const entry of all) {
    total += cpuTimes(entry.pid)?.self ?? 0;
  }
  for (const postmaster of postmasters) {
    total += cpuTimes(postmaster.pid)?.children ?? 0;
  }
  return total;
}

/** The local Kafka broker's JVM (the `java … kafka.Kafka` process), when it runs on this machine. */
export function kafkaPid(): number | undefined {
  for (const entry of processes()) {
    if (entry.comm !== 'java') {
      continue;
    }
    try {
      const args = readFileSync(`/proc/${entry.pid}/cmdline`, 'utf8').split('\0');
      if (args.includes('kafka.Kafka')) {
        return entry.pid;
      }
    } catch {
      // gone
    }
  }
  return undefined;
}

/** The classpath of a JVM, for the broker's version (the kafka_<scala>-<version>.jar on it). */
export function jvmClasspath(pid: number): string | undefined {
  try {
    const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const index = args.indexOf('-cp');
    return index >= 0 ? args[index + 1] : undefined;
  } catch {
    return undefined;
  }
}

/** The whole machine's CPU time so far, from the first line of /proc/stat, in seconds (all cores summed). */
export interface MachineCpu {
  /** user + nice + system + irq + softirq: work, ours or anyone else's on this machine. */
  busy: number;
  /** idle + iowait. */
  idle: number;
  /** Time a hypervisor gave this machine's virtual CPUs to someone else: a noisy neighbour shows here. */
  steal: number;
}

/** Reads the aggregate `cpu` line of /proc/stat; undefined where there is none (not Linux). */
export function machineCpu(): MachineCpu | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const [label, ...fields] = line.trim().split(/\s+/);
    if (label !== 'cpu') {
      return undefined;
    }
    // user nice system idle iowait irq softirq steal (guest time is already inside user and nice).
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] =
      fields.map(Number);
    return {
      busy: (user + nice + system + irq + softirq) / CLOCK_TICKS,
      idle: (idle + iowait) / CLOCK_TICKS,
      steal: steal / CLOCK_TICKS,
    };
  } catch {
    return undefined;
  }
}
