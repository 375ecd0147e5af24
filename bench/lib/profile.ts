/**
 * How long and how hard each scenario runs: `full` is the documented run (about 22 minutes, at most about 25: every
 * search has a step limit, every wait a bound), `quick` CI's (about 2 minutes): tiny, bounded versions of every
 * scenario, so none can rot.
 */
export interface BenchProfile {
  mode: 'quick' | 'full';
  users: number;
  acceptSeconds: number;
  acceptWarmupSeconds: number;
  acceptConnections: number;
  /** Before a scenario's first point: this rate for this long through the whole saga (JIT, pools, groups warm). */
  warmUp: { rate: number; seconds: number };
  /** Seconds each open-loop point offers its rate: long enough for p99 to rest on thousands of cards (full). */
  pointSeconds: number;
  /** After a point's last send, how long a client still waits for its card (longer is a miss anyway). */
  pointDrainSeconds: number;
  /** Before a point, the longest wait for the previous one's leftovers to become terminal. */
  settleSeconds: number;
  /** The knee search of ours: first rate (expected good), doubling up to the ceiling, then bisection. */
  knee: KneeSettings;
  providerLatenciesMs: number[];
  relayRows: number;
  relayBatchSize: number;
  /** Relay and bare producer each run this many times, alternating; the median and the spread are reported. */
  relayRepeats: number;
  /** The synchronous comparison: provider latency, and the knee search of each design. */
  syncProviderLatencyMs: number;
  syncKnee: KneeSettings;
  /** The outage run: its length, when the provider goes down and for how long; the rate is half our capacity. */
  outageSeconds: number;
  outageFromSecond: number;
  outageDownSeconds: number;
  /** The outage run's rate when the synchronous comparison did not measure our capacity (--only outage). */
  outageFallbackRate: number;
  /** After the outage run, the longest wait for our cards to become terminal (the worker retries, then gives up). */
  outageDrainSeconds: number;
  /** The degraded-provider run's length (its rate is the outage run's; it drains as long as the outage run). */
  degradedSeconds: number;
  pgbenchSeconds: number;
}

export interface KneeSettings {
  start: number;
  ceiling: number;
  /** Stop bisecting once the gap is at most this share of the good rate … */
  resolutionShare: number;
  /** … or this many cards/s, whichever is larger. */
  resolutionMin: number;
  /** Points at most, doubling and bisection together. */
  maxPoints: number;
  /** Run the knee's rate once more at the end (one more point), so one lucky point cannot make the knee. */
  confirm?: boolean;
}

export const PROFILES: Record<'quick' | 'full', BenchProfile> = {
  full: {
    mode: 'full',
    users: 5000,
    acceptSeconds: 20,
    acceptWarmupSeconds: 3,
    acceptConnections: 32,
    warmUp: { rate: 50, seconds: 10 },
    pointSeconds: 20,
    pointDrainSeconds: 5,
    settleSeconds: 15,
    // Doubling from 100/s finds the bracket in a few points at any knee up to 3200/s; then 5 % (or 10/s) steps.
    // Later searches (provider 50 ms, 200 ms) start at 0.8 × the first knee, so they need fewer points.
    knee: {
      start: 100,
      ceiling: 3200,
      resolutionShare: 0.05,
      resolutionMin: 10,
      maxPoints: 8,
      confirm: true,
    },
    providerLatenciesMs: [0, 50],
    relayRows: 100_000,
    relayBatchSize: 500,
    relayRepeats: 3,
    syncProviderLatencyMs: 200,
    syncKnee: { start: 50, ceiling: 3200, resolutionShare: 0.1, resolutionMin: 10, maxPoints: 6 },
    outageSeconds: 75,
    outageFromSecond: 20,
    outageDownSeconds: 30,
    outageFallbackRate: 50,
    outageDrainSeconds: 45,
    degradedSeconds: 60,
    pgbenchSeconds: 20,
  },
  quick: {
    mode: 'quick',
    users: 500,
    acceptSeconds: 3,
    acceptWarmupSeconds: 1,
    acceptConnections: 32,
    warmUp: { rate: 20, seconds: 2 },
    pointSeconds: 3,
    pointDrainSeconds: 5,
    settleSeconds: 15,
    knee: { start: 50, ceiling: 200, resolutionShare: 0.5, resolutionMin: 50, maxPoints: 2, confirm: true },
    providerLatenciesMs: [0, 50],
    relayRows: 10_000,
    relayBatchSize: 500,
    relayRepeats: 1,
    syncProviderLatencyMs: 200,
    syncKnee: { start: 50, ceiling: 100, resolutionShare: 0.5, resolutionMin: 50, maxPoints: 2 },
    outageSeconds: 9,
    outageFromSecond: 3,
    outageDownSeconds: 3,
    outageFallbackRate: 20,
    outageDrainSeconds: 30,
    degradedSeconds: 6,
    pgbenchSeconds: 3,
  },
};
