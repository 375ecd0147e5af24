/** How long and how hard each scenario runs; `quick` is CI's (a few seconds each), `full` the documented run. */
export interface BenchProfile {
  mode: 'quick' | 'full';
  users: number;
  acceptSeconds: number;
  acceptWarmupSeconds: number;
  acceptConnections: number;
  sagaSeconds: number;
  sagaRates: number[];
  providerLatenciesMs: number[];
  /** The rate the end-to-end p50 target is judged at (issue 7: 300 cards/s, provider latency 0). */
  targetRate: number;
  relayRows: number;
  relayBatchSize: number;
  syncSeconds: number;
  syncConcurrency: number;
  syncProviderLatencyMs: number;
  /** Longest a run waits after its load for the last cards to become terminal. */
  drainSeconds: number;
}

export const PROFILES: Record<'quick' | 'full', BenchProfile> = {
  full: {
    mode: 'full',
    users: 5000,
    acceptSeconds: 20,
    acceptWarmupSeconds: 3,
    acceptConnections: 32,
    sagaSeconds: 20,
    // Dense where this machine's knee is (about 100 cards/s, docs/benchmarks.md), and the 300 and 1000.
    sagaRates: [50, 100, 150, 300, 1000],
    providerLatenciesMs: [0, 50],
    targetRate: 300,
    relayRows: 100_000,
    relayBatchSize: 500,
    syncSeconds: 20,
    syncConcurrency: 32,
    syncProviderLatencyMs: 200,
    drainSeconds: 30,
  },
  quick: {
    mode: 'quick',
    users: 500,
    acceptSeconds: 3,
    acceptWarmupSeconds: 1,
    acceptConnections: 32,
    sagaSeconds: 3,
    sagaRates: [100, 300],
    providerLatenciesMs: [0, 50],
    targetRate: 300,
    relayRows: 10_000,
    relayBatchSize: 500,
    syncSeconds: 3,
    syncConcurrency: 32,
    syncProviderLatencyMs: 200,
    drainSeconds: 30,
  },
};
