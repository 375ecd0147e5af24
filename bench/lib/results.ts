import type { CpuSpent } from './resources.ts';
import type { Percentiles } from './stats.ts';

/** The machine a run measured, read at run time. */
export interface MachineDescription {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  os: string;
  node: string;
  postgres: string;
  kafka: string;
  /** Load average at the start: how busy the shared machine was. */
  loadAverage: number[];
}

/** Scenario 1: POST /v1/cards at fixed concurrency. */
export interface AcceptResult {
  connections: number;
  seconds: number;
  users: number;
  ours: ClosedLoopHttp;
  baseline: ClosedLoopHttp;
}

/** What autocannon measured for one server. */
export interface ClosedLoopHttp {
  requestsPerSecond: number;
  latencyMs: { p50: number; p99: number; max: number };
  ok: number;
  errors: number;
  cpu: CpuSpent;
  cpuPerRequest: CpuSpent;
}

/** Scenario 2: one offered rate at one provider latency. */
export interface SagaRun {
  rate: number;
  providerLatencyMs: number;
  seconds: number;
  sent: number;
  /** Cards that reached ACTIVE or FAILED by the end of the drain. */
  terminal: number;
  failed: number;
  /** Accepted cards still PENDING in the database after the drain. */
  notTerminal: number;
  /** Card requests not accepted (non-202 or no answer). */
  errors: number;
  /** Long-polls that failed and were repeated. */
  pollErrors: number;
  /** First few distinct error reasons, for a reader who sees errors > 0. */
  errorSamples: string[];
  /** Terminal cards per second, over the offered load's duration. */
  achievedPerSecond: number;
  acceptMs: Percentiles;
  /** Request (its scheduled send) → terminal answer of the long-poll, at the client. */
  endToEndClientMs: Percentiles;
  /** created_at → activated_at / failed_at, from the database. */
  endToEndDatabaseMs: Percentiles;
  /** How late the generator fired sends (a loaded machine delays timers). */
  sendLagMs: Percentiles;
  cpu: CpuSpent;
  cpuPerCard: CpuSpent;
  /** Peak RSS of each process during this run alone, in MB (VmHWM reset at its start). */
  peakRssMB: Record<string, number>;
}

export interface SagaResult {
  runs: SagaRun[];
  /** The bare two-hop Kafka round trip at each offered rate. */
  kafkaBaseline: { rate: number; seconds: number; sent: number; lost: number; latencyMs: Percentiles }[];
  /** Peak RSS of each process over scenario 2 (the largest of its runs'), in MB. */
  peakRssMB: Record<string, number>;
  /** False when the kernel refused to reset VmHWM, so a peak may come from before scenario 2. */
  peakRssScenarioOnly: boolean;
}

/** Scenario 3: a pre-filled outbox published by the relay, against a bare producer. */
export interface RelayResult {
  rows: number;
  batchSize: number;
  oursSeconds: number;
  oursRowsPerSecond: number;
  baselineSeconds: number;
  baselineRowsPerSecond: number;
  cpu: CpuSpent;
}

/** Scenario 4: the synchronous design beside ours, provider latency fixed. */
export interface SyncResult {
  providerLatencyMs: number;
  concurrency: number;
  seconds: number;
  ours: ClosedLoopCards;
  synchronous: ClosedLoopCards;
}

export interface ClosedLoopCards {
  /** Cards that reached a terminal state per second. */
  cardsPerSecond: number;
  completed: number;
  errors: number;
  acceptMs: Percentiles;
  terminalMs: Percentiles;
}

/** One target of issue 7, judged. */
export interface TargetOutcome {
  id: string;
  description: string;
  measured: string;
  target: string;
  /** undefined: not measured in this run (a quick run skips the high rates). */
  met: boolean | undefined;
}

/** Everything one run measured; bench/results/<date>.json. */
export interface BenchResults {
  mode: 'quick' | 'full';
  startedAt: string;
  finishedAt: string;
  machine: MachineDescription;
  settings: Record<string, number | string>;
  accept?: AcceptResult;
  saga?: SagaResult;
  relay?: RelayResult;
  sync?: SyncResult;
  targets: TargetOutcome[];
  /** Why the run is broken (a scenario that did not work), empty when it is not. */
  failures: string[];
}
