import { setTimeout as sleep } from 'node:timers/promises';

import { backoffDelayMs } from '@cards/runtime';

import { CommandExpiredError, isTransient, RetryLaterError } from '../domain/errors';
import type { AttemptOptions, RetryPolicy } from '../domain/retry-policy';
import { CircuitOpenError, type CircuitBreaker } from './circuit-breaker';

/** The retry budget of one command's provider calls. */
export interface ProviderRetrySettings {
  /** Calls in all, the first included. */
  maxAttempts: number;
  /** Time from the first call after which no further call starts. */
  budgetMs: number;
  /** Upper bound of the first backoff delay; each later bound doubles. */
  initialDelayMs: number;
  /** Cap of any one delay. */
  maxDelayMs: number;
}

/** What the policy runs on; the clock, the randomness and the waiting are there for tests to replace. */
export interface ProviderRetryDeps {
  breaker: CircuitBreaker;
  now?: () => number;
  random?: () => number;
  wait?: (ms: number, signal: AbortSignal | undefined) => Promise<void>;
}

// The one backoff formula of the project (exponential, full jitter, never past the budget), shared with
// reconciliation's retries; re-exported here, where this policy's tests read it.
export { backoffDelayMs };

/**
 * Retries transient provider failures within a budget of attempts and time, every call through the shared
 * circuit breaker. What the breaker says about the provider as a whole is not charged to the command: a call the
 * open circuit refused, or a failure after which the circuit is open (the one that opened it, a failed probe),
 * becomes a RetryLaterError, and the Kafka edge hands the command over again once the circuit half-opens, with a
 * fresh budget. So a provider outage pauses the commands instead of failing them, and a command fails
 * PROVIDER_UNAVAILABLE only on failures of its own while the provider is believed up.
 *
 * Hand-written rather than cockatiel's retry: that one has no time budget, and its delays ignore the abort signal,
 * which would hold up a SIGTERM for a whole backoff.
 */
export function createProviderRetryPolicy(
  settings: ProviderRetrySettings,
  deps: ProviderRetryDeps,
): RetryPolicy {
  const now = deps.now ?? Date.now;
  const random = deps.random ?? Math.random;
  const wait = deps.wait ?? ((ms, signal) => sleep(ms, undefined, { signal }));
  const stopping = (): RetryLaterError =>
    new RetryLaterError('the worker is stopping; the command is left for redelivery');

  return {
    async execute<T>(
      operation: () => Promise<T>,
      signal?: AbortSignal,
      options?: AttemptOptions,
    ): Promise<T> {
      const started = now();
      for (let attempt = 1; ; attempt++) {
        if (signal?.aborted) {
          throw stopping();
        }
        if (options?.expired?.()) {
          throw new CommandExpiredError();
        }
        try {
          return await deps.breaker.execute(operation);
        } catch (error) {
          if (error instanceof CircuitOpenError) {
            throw new RetryLaterError('the provider circuit is open: the provider is believed down', {
              cause: error,
            });
          }
          if (!isTransient(error)) {
            throw error;
          }
          if (deps.breaker.state === 'open') {
            throw new RetryLaterError(`the provider circuit opened after: ${error.message}`, {
              cause: error,
            });
          }
          const elapsedMs = now() - started;
          if (attempt >= settings.maxAttempts || elapsedMs >= settings.budgetMs) {
            throw error;
          }
          try {
            await wait(backoffDelayMs(attempt, settings, settings.budgetMs - elapsedMs, random), signal);
          } catch {
            throw stopping();
          }
        }
      }
    },
  };
}
