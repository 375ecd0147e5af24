/**
 * Runs an operation again while it throws a transient error (see `isTransient`), with backoff, and rethrows the
 * last error once the attempts are used up. cockatiel's RetryPolicy satisfies it as it is; the port keeps the use
 * cases testable without real delays.
 */
export interface RetryPolicy {
  execute<T>(operation: () => Promise<T>): Promise<T>;
}
