/** Where the provider's circuit stands: closed (calls go through), open (calls refused), half-open (one probe). */
export type CircuitState = 'closed' | 'open' | 'half-open';

/** A call the circuit refused without making it, because the provider is believed down. */
export class CircuitOpenError extends Error {
  constructor() {
    super('the provider circuit is open');
    this.name = 'CircuitOpenError';
  }
}

/**
 * The circuit breaker around provider calls (cockatiel in production, see cockatiel-circuit-breaker.ts). One per
 * process, shared by every command: it learns from all calls that the provider is down, so that one card's
 * failures spare the others' budgets.
 */
export interface CircuitBreaker {
  /**
   * Runs `call` unless the circuit is open; a transient failure (see `isTransient`) counts towards opening it.
   * Rejects with CircuitOpenError, without calling, while it is open.
   */
  execute<T>(call: () => Promise<T>): Promise<T>;
  readonly state: CircuitState;
  /** Calls `listener` on every change of state; returns the function that stops it. */
  onStateChange(listener: (state: CircuitState) => void): () => void;
}
