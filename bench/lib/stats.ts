/** Latency percentiles in milliseconds, with how many samples they rest on. */
export interface Percentiles {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentile of an ascending array (0 for none). */
function rank(sorted: readonly number[], quantile: number): number {
  if (sorted.length === 0) {
    return 0;
  }
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(quantile * sorted.length) - 1));
  return sorted[index] ?? 0;
}

/** p50/p95/p99/max of samples, rounded to 0.1 ms. */
export function percentiles(samples: readonly number[]): Percentiles {
  const sorted = [...samples].sort((a, b) => a - b);
  const round = (value: number): number => Math.round(value * 10) / 10;
  return {
    count: sorted.length,
    p50: round(rank(sorted, 0.5)),
    p95: round(rank(sorted, 0.95)),
    p99: round(rank(sorted, 0.99)),
    max: round(sorted.at(-1) ?? 0),
  };
}

/** ours / baseline, 2 decimals; undefined when the baseline measured nothing. */
export function ratio(ours: number, baseline: number): number | undefined {
  return baseline > 0 ? Math.round((ours / baseline) * 100) / 100 : undefined;
}
