/** How many provider calls ended in a time span, and how many of them said the provider is unavailable. */
export interface CallTally {
  calls: number;
  failures: number;
}

/**
 * The outcomes of every command's provider calls over the last `retentionMs`, counted in buckets of `bucketMs`, so
 * the memory is fixed whatever the traffic. A command whose attempts ran out asks it whether the others fared any
 * better: that tells a card's own failure from an outage too short for the circuit breaker to catch.
 */
export class CallOutcomeWindow {
  private readonly buckets: { start: number; calls: number; failures: number }[];

  constructor(
    retentionMs: number,
    private readonly bucketMs = 50,
  ) {
    this.buckets = Array.from({ length: Math.ceil(retentionMs / bucketMs) + 1 }, () => ({
      start: Number.NEGATIVE_INFINITY,
      calls: 0,
      failures: 0,
    }));
  }

  record(at: number, failed: boolean): void {
    const start = Math.floor(at / this.bucketMs) * this.bucketMs;
    const slots = this.buckets.length;
    const bucket = this.buckets[(((start / this.bucketMs) % slots) + slots) % slots];
    if (!bucket) {
      return;
    }
    if (bucket.start !== start) {
      bucket.start = start;
      bucket.calls = 0;
      bucket.failures = 0;
    }
    bucket.calls += 1;
    bucket.failures += failed ? 1 : 0;
  }

  /**
   * The calls that ended from the bucket holding `since` on (so from up to one bucket earlier) to `now`, and further
   * back, a bucket at a time, until `enough` says so or the retention ends.
   */
  tallyBack(now: number, since: number, enough: (tally: CallTally) => boolean): CallTally {
    const slots = this.buckets.length;
    const newest = Math.floor(now / this.bucketMs);
    const from = Math.floor(since / this.bucketMs) * this.bucketMs;
    const tally = { calls: 0, failures: 0 };
    for (let age = 0; age < slots; age++) {
      const start = (newest - age) * this.bucketMs;
      if (start < from && enough(tally)) {
        break;
      }
      const bucket = this.buckets[(((newest - age) % slots) + slots) % slots];
      if (bucket?.start === start) {
        tally.calls += bucket.calls;
        tally.failures += bucket.failures;
      }
    }
    return tally;
  }
}
