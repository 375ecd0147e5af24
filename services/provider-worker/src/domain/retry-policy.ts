/**
 * Runs a provider call again while it throws a transient error (see `isTransient`), with backoff, within a budget
 * of attempts and time, and rethrows the last transient error once the budget is spent. Throws RetryLaterError
 * instead when the failure is not the command's to bear: the provider is believed down, or `signal` aborted (the
 * worker is stopping) before the next attempt. The port keeps the use cases testable without real delays.
 */
export interface RetryPolicy {
  /**
   * `options.expired` is asked before every attempt, outside the circuit breaker (no call is made, so the breaker
   * learns nothing): when it says so, CommandExpiredError is thrown instead of the attempt.
   */
  execute<T>(operation: () => Promise<T>, signal?: AbortSignal, options?: AttemptOptions): Promise<T>;
}

export interface AttemptOptions {
  /** Whether the command's time is up (its saga deadline passed): no further attempt may start. */
  expired?: () => boolean;
}
