import { BrokenCircuitError, circuitBreaker, CircuitState, handleWhen, SamplingBreaker } from 'cockatiel';

import { isUnavailability } from '../domain/errors';
import {
  CircuitOpenError,
  type CircuitBreaker,
  type CircuitState as ProviderCircuitState,
} from './circuit-breaker';

/** When the provider's circuit opens, and how long it stays open. */
export interface CircuitBreakerSettings {
  /** The share (0..1) of the window's calls that must have failed transiently for the circuit to open. */
  failureRate: number;
  /** The window the failure rate is sampled over. */
  windowMs: number;
  /** Calls in the window below which the circuit never opens (too few to judge a rate by). */
  minCalls: number;
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
 * cockatiel's circuit breaker with a SamplingBreaker: it opens when more than `failureRate` of the calls of the
 * last `windowMs` failed transiently, once at least `minCalls` were made in the window. A run of failures is not
 * enough: with dozens of calls in flight, a degraded provider (a fifth of calls failing, a few hanging together)
 * fails five in a row often, and a breaker counting runs opened every few seconds, pausing consumption while the
 * provider could serve most cards. After `halfOpenAfterMs` the next call is a probe (further calls wait for its
 * outcome), which closes it or opens it again. Answers, 4xx or broken (even those the retry policy asks again), count
 * as successes: they prove the provider up. cockatiel moves to
 * half-open only when a call arrives, which is why the worker resumes consumption on a timer (circuit-pause.ts).
 */
export function createCockatielCircuitBreaker(settings: CircuitBreakerSettings): CircuitBreaker {
  const policy = circuitBreaker(
    handleWhen((error) => isUnavailability(error)),
    {
      halfOpenAfter: settings.halfOpenAfterMs,
      breaker: new SamplingBreaker({
        threshold: settings.failureRate,
        duration: settings.windowMs,
        minimumRps: settings.minCalls / (settings.windowMs / 1000),
      }),
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
