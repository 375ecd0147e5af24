import type { BenchResults, TargetOutcome } from './results.ts';
import { ratio } from './stats.ts';

/** Issue 7's ceiling for end-to-end latency. */
const P99_LIMIT_MS = 1000;
const RSS_LIMIT_MB = 200;

/**
 * The highest offered rate at `providerLatencyMs` whose cards all ended (no errors, nothing left PENDING), at
 * nearly the offered rate, with client p99 under a second; undefined when none did.
 */
export function highestRateUnderOneSecond(
  results: BenchResults,
  providerLatencyMs: number,
): number | undefined {
  const good = (results.saga?.runs ?? []).filter(
    (run) =>
      run.providerLatencyMs === providerLatencyMs &&
      run.errors === 0 &&
      run.notTerminal === 0 &&
      run.terminal >= run.sent * 0.99 &&
      run.endToEndClientMs.p99 < P99_LIMIT_MS,
  );
  return good.length > 0 ? Math.max(...good.map((run) => run.rate)) : undefined;
}

const fixed = (value: number | undefined, digits = 2): string =>
  value === undefined ? 'n/a' : value.toFixed(digits);

/** Judges each target of issue 7 against what the run measured; nothing here fails a run. */
export function judgeTargets(results: BenchResults, targetRate: number): TargetOutcome[] {
  const outcomes: TargetOutcome[] = [];
  const { accept, saga, relay } = results;

  const acceptRatio = accept && ratio(accept.ours.requestsPerSecond, accept.baseline.requestsPerSecond);
  outcomes.push({
    id: 'accept-throughput',
    description: 'Accept throughput against the bare node:http + pg server',
    measured: `${fixed(acceptRatio)} × (${accept?.ours.requestsPerSecond ?? 'n/a'} vs ${accept?.baseline.requestsPerSecond ?? 'n/a'} req/s)`,
    target: '≥ 0.8 ×',
    met: acceptRatio === undefined ? undefined : acceptRatio >= 0.8,
  });

  const run = saga?.runs.find((each) => each.rate === targetRate && each.providerLatencyMs === 0);
  const kafka = saga?.kafkaBaseline.find((each) => each.rate === targetRate);
  const p50Ratio = run && kafka && ratio(run.endToEndClientMs.p50, kafka.latencyMs.p50);
  outcomes.push({
    id: 'end-to-end-p50',
    description: `End-to-end p50 at ${targetRate} cards/s, provider latency 0, against the bare two-hop Kafka round trip`,
    measured: `${fixed(p50Ratio)} × (${run?.endToEndClientMs.p50 ?? 'n/a'} vs ${kafka?.latencyMs.p50 ?? 'n/a'} ms)`,
    target: '≤ 3 ×',
    met: p50Ratio === undefined ? undefined : p50Ratio <= 3,
  });

  const highest = highestRateUnderOneSecond(results, 0);
  const maxTested = Math.max(0, ...(saga?.runs ?? []).map((each) => each.rate));
  outcomes.push({
    id: 'sustained-rate',
    description:
      'Highest offered rate sustained end to end with p99 < 1 s (provider latency 0, all co-located)',
    measured: highest === undefined ? 'none' : `${highest} cards/s`,
    target: '≥ 1000 cards/s',
    // A run that never offered 1000/s (quick mode) cannot tell.
    met: highest !== undefined && highest >= 1000 ? true : maxTested < 1000 ? undefined : false,
  });

  const relayRatio = relay && ratio(relay.oursRowsPerSecond, relay.baselineRowsPerSecond);
  outcomes.push({
    id: 'relay-throughput',
    description: 'Relay throughput against a bare kafkajs producer',
    measured: `${fixed(relayRatio)} × (${relay?.oursRowsPerSecond ?? 'n/a'} vs ${relay?.baselineRowsPerSecond ?? 'n/a'} rows/s)`,
    target: '≥ 0.5 ×',
    met: relayRatio === undefined ? undefined : relayRatio >= 0.5,
  });

  const peaks = Object.entries(saga?.peakRssMB ?? {});
  const largest = peaks.sort(([, a], [, b]) => b - a)[0];
  outcomes.push({
    id: 'peak-rss',
    description: 'Peak RSS of each Node process during scenario 2',
    measured: largest ? `${largest[1].toFixed(0)} MB (${largest[0]}, the largest)` : 'n/a',
    target: `≤ ${RSS_LIMIT_MB} MB`,
    met: largest ? largest[1] <= RSS_LIMIT_MB : undefined,
  });
  return outcomes;
}
