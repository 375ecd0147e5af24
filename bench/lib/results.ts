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

/** The whole machine's CPU over the run (/proc/stat): busy, idle and steal seconds, summed over cores. */
export interface MachineCpuOverRun {
  busy: number;
  idle: number;
  steal: number;
  /** busy / (busy + idle + steal). */
  busyShare: number;
  /** steal / (busy + idle + steal). */
  stealShare: number;
}

/** Scenario 1: POST /v1/cards at fixed concurrency, ours against the bare server and pgbench. */
export interface AcceptResult {
  connections: number;
  seconds: number;
  users: number;
  /** Where the baselines' SQL came from (baselines/accept-sql.ts): card-api's own, or its statements of 2026-12-04. */
  acceptSql: string;
  ours: ClosedLoopHttp;
  baseline: ClosedLoopHttp;
  /** pgbench running the same SQL with as many connections as the pool: the database's ceiling. */
  pgbench?: PgbenchResult | undefined;
}

/** What the closed loop measured for one server. */
export interface ClosedLoopHttp {
  requestsPerSecond: number;
  latencyMs: { p50: number; p99: number; max: number };
  ok: number;
  errors: number;
  cpu: CpuSpent;
  cpuPerRequest: CpuSpent;
}

export interface PgbenchResult {
  clients: number;
  seconds: number;
  transactionsPerSecond: number;
  latencyAverageMs: number | undefined;
  failed: number;
  cpu: CpuSpent;
}

/** Per-stage latencies of one point's cards, from the database's own timestamps (ms). */
export interface StageLatencies {
  /** The request's scheduled send → cards.created_at (the client asks with Prefer: wait, so its POST answers later). */
  accept: Percentiles;
  /** outbox.created_at → outbox.published_at: the relay. */
  outboxToPublished: Percentiles;
  /** outbox.published_at → inbox.occurred_at (the worker's time the provider answered): Kafka, worker, provider. */
  publishedToProviderAnswered: Percentiles;
  /** inbox.occurred_at → inbox.received_at: the result's way back through Kafka to the consumer. */
  providerAnsweredToReceived: Percentiles;
  /** inbox.received_at → cards.activated_at / failed_at: the consumer applying it. */
  receivedToApplied: Percentiles;
}

/** One open-loop point: a rate offered for a while, to ours or to the synchronous design. */
export interface CardsPoint {
  design: 'ours' | 'sync';
  /**
   * A step of the knee search, its knee run again (confirm), or the run at 2× the knee (overload: memory and
   * behaviour past the knee).
   */
  purpose: 'search' | 'confirm' | 'overload';
  rate: number;
  providerLatencyMs: number;
  seconds: number;
  sent: number;
  /** Cards that reached ACTIVE or FAILED at the client (long-poll, or the synchronous answer). */
  terminal: number;
  failed: number;
  /** Accepted cards the client never saw terminal. */
  notTerminal: number;
  /** Card requests not accepted (non-2xx or no answer). */
  errors: number;
  /** Long-polls that failed and were repeated. */
  pollErrors: number;
  /** First few distinct error reasons, for a reader who sees errors > 0. */
  errorSamples: string[];
  /** Terminal cards per second, over the offered load's duration. */
  achievedPerSecond: number;
  /** Scheduled send → accepted: ours from cards.created_at (its POST waits), the synchronous design at its 201. */
  acceptMs: Percentiles;
  /** Request (its scheduled send) → terminal, at the client. */
  endToEndClientMs: Percentiles;
  /** created_at → activated_at / failed_at, from the database (ours only). */
  endToEndDatabaseMs?: Percentiles | undefined;
  stagesMs?: StageLatencies | undefined;
  /** How late the generator fired sends (a loaded machine delays timers). */
  sendLagMs: Percentiles;
  cpu: CpuSpent;
  cpuPerCard: CpuSpent;
  /** Peak RSS of each process during this point alone, in MB (VmHWM reset at its start). */
  peakRssMB: Record<string, number>;
  /** Every card terminal, no request failed, client p99 < 1 s. */
  good: boolean;
}

/** The bisection for the highest good rate of one design at one provider latency. */
export interface KneeSearch {
  design: 'ours' | 'sync';
  providerLatencyMs: number;
  /** The highest good rate found; undefined when even the lowest rate tried was not good. */
  knee: number | undefined;
  /** The lowest rate found not good (undefined when the search's ceiling was good). */
  firstBad: number | undefined;
  /** The search stopped once firstBad − knee was at most this many cards/s (or ran out of steps). */
  resolution: number;
  /** Every point, in the order tried. */
  points: CardsPoint[];
}

/** Scenario 2: the knee of ours per provider latency, the run at 2× the knee, and the bare Kafka round trip. */
export interface SagaResult {
  searches: KneeSearch[];
  overload: CardsPoint[];
  /** The bare two-hop Kafka round trip at the knee (provider latency 0). */
  kafkaBaseline: { rate: number; seconds: number; sent: number; lost: number; latencyMs: Percentiles }[];
  /** Peak RSS of each process over scenario 2 (the largest of its points, overload included), in MB. */
  peakRssMB: Record<string, number>;
  /** False when the kernel refused to reset VmHWM, so a peak may come from before scenario 2. */
  peakRssScenarioOnly: boolean;
}

/** Scenario 3: a pre-filled outbox published by the relay, against a bare producer, a few times alternating. */
export interface RelayResult {
  rows: number;
  batchSize: number;
  repeats: RelayRepeat[];
  /** Medians over the repeats. */
  oursRowsPerSecond: number;
  baselineRowsPerSecond: number;
  ratio: number | undefined;
  ratioMin: number | undefined;
  ratioMax: number | undefined;
  /** How the relay's clock started: at its "active relay" log line (producer connected) or, failing that, /healthz. */
  clockStart: string;
}

export interface RelayRepeat {
  oursSeconds: number;
  oursRowsPerSecond: number;
  baselineSeconds: number;
  baselineRowsPerSecond: number;
  ratio: number | undefined;
  cpu: CpuSpent;
}

/** Scenario 4: capacity of ours and of the synchronous design, both open loop, provider latency fixed. */
export interface SyncResult {
  providerLatencyMs: number;
  ours: KneeSearch;
  synchronous: KneeSearch;
}

/** Scenario 7: a provider outage in the middle of a run, both designs at the same rate. */
export interface OutageResult {
  rate: number;
  providerLatencyMs: number;
  seconds: number;
  outageFromSecond: number;
  outageSeconds: number;
  ours: OutageOutcome;
  synchronous: OutageOutcome;
}

export interface OutageOutcome {
  sent: number;
  /** Requests not accepted (any non-2xx, or no answer). */
  refused: number;
  /** Of those, sent while the provider was down. */
  refusedDuringOutage: number;
  active: number;
  failed: number;
  /** Accepted, but never terminal by the end of the drain. */
  neverTerminal: number;
  /** Cards asked for and not obtained: refused + failed + never terminal. */
  lost: number;
  /** Request → terminal of the cards that ended ACTIVE. */
  endToEndClientMs: Percentiles;
  drainSeconds: number;
}

/** Scenario 8: the provider degraded (5xx, hangs, malformed bodies) for a whole run at half our capacity. */
export interface DegradedResult {
  rate: number;
  seconds: number;
  faults: Record<string, number>;
  sent: number;
  accepted: number;
  active: number;
  /** active / accepted. */
  activeShare: number;
  neverTerminal: number;
  /** The FAILED cards by failure code. */
  failedByCode: Record<string, number>;
  /** Request → terminal of the cards that ended ACTIVE. */
  endToEndClientMs: Percentiles;
}

/** One target of issue 7, judged. */
export interface TargetOutcome {
  id: string;
  description: string;
  measured: string;
  target: string;
  /** undefined: not measured in this run (a quick run skips the high rates), or a figure reported only. */
  met: boolean | undefined;
  /** A figure the issue asks to see, with no threshold. */
  reportOnly?: boolean;
}

/** Scenario 9: the saga's knee on the replicated profile (three brokers, replicas of every process). */
export interface ReplicatedResult {
  brokers: number;
  replicationFactor: number;
  minInsyncReplicas: number;
  /** Processes per service. */
  processes: Record<string, number>;
  /** The knee search at provider 0 ms; CPU per process is by replica (card-api, card-api-2, …). */
  search: KneeSearch;
  /** Scenario 2's knee at provider 0 ms in the same run, for comparison. */
  singleNodeKnee: number | undefined;
}

/** Everything one run measured; bench/results/<date>.json. */
export interface BenchResults {
  mode: 'quick' | 'full';
  startedAt: string;
  finishedAt: string;
  machine: MachineDescription;
  settings: Record<string, number | string>;
  accept?: AcceptResult | undefined;
  saga?: SagaResult | undefined;
  relay?: RelayResult | undefined;
  sync?: SyncResult | undefined;
  outage?: OutageResult | undefined;
  degraded?: DegradedResult | undefined;
  replicated?: ReplicatedResult | undefined;
  /** /proc/stat over the whole run (every point also records its own, in its CPU figures). */
  machineCpu?: MachineCpuOverRun | undefined;
  targets: TargetOutcome[];
  /** Why the run is broken (a scenario that did not work), empty when it is not. */
  failures: string[];
}
