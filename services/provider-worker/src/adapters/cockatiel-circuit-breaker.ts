import { BrokenCircuitError, circuitBreaker, CircuitState, ConsecutiveBreaker, handleWhen } from 'cockatiel';

import { isTransient } from '../domain/errors';
import {
  CircuitOpenError,
  type CircuitBreaker,
  type CircuitState as ProviderCircuitState,
} from './circuit-breaker';

/** When the provider's circuit opens, and how long it stays open. */
export interface CircuitBreakerSettings {
  /** Consecutive transient failures that open the circuit. */
  threshold: number;
  /** Time the circuit stays open before it lets one probe call through. */
  halfOpenAfterMs: number;
}

function toState(state: CircuitState): ProviderCircuitState {
  switch (state) {
    case CircuitState.Closed:
      return 'closed';
    case CircuitState.HalfOpen:
      return 'half-open';
    case CircuitState.Open:
    case CircuitState.Isolated:
      return 'open';
  }
}

/**
 * cockatiel's circuit breaker with a ConsecutiveBreaker: `threshold` transient failures in a row open it; after
 * `halfOpenAfterMs` the next call is a probe (further calls wait for its outcome), which closes it or opens it
 * again. Permanent answers (4xx, contract violations) are answers: they count as successes. cockatiel moves to
 * half-open only when a call arrives, which is why the worker resumes consumption on a timer (circuit-pause.ts).
 */
export function createCockatielCircuitBreaker(settings: CircuitBreakerSettings): CircuitBreaker {
  const policy = circuitBreaker(
    handleWhen((error) => isTransient(error)),
    {
      halfOpenAfter: settings.halfOpenAfterMs,
      breaker: new ConsecutiveBreaker(settings.threshold),
    },
  );
  return {
    async execute<T>(call: () => Promise<T>): Promise<T> {
      try {
        return await policy.execute(() => call());
      } catch (error) {
        if (error instanceof BrokenCircuitError) {
          throw new CircuitOpenError();
        }
        throw error;
      }
    },
    get state() {
      return toState(policy.state);
    },
    onStateChange(listener) {
      const subscription = policy.onStateChange((state) => {
        listener(toState(state));
      });
      return () => {
        subscription.dispose();
      };
    },
  };
}
