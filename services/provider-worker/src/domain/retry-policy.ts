/**
 * Runs a provider call again while it throws a transient error (see `isTransient`), with backoff, within a budget
 * of attempts and time, and rethrows the last transient error once the budget is spent. Throws RetryLaterError
 * instead when the failure is not the command's to bear: the provider is believed down, or `signal` aborted (the
 * worker is stopping) before the next attempt. The port keeps the use cases testable without real delays.
 */
export interface RetryPolicy {
  execute<T>(operation: () => Promise<T>, signal?: AbortSignal): Promise<T>;
}
