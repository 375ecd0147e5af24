import { setTimeout as sleep } from 'node:timers/promises';

import { backoffDelayMs } from '@cards/runtime';

import { CommandExpiredError, isTransient, isUnavailability, RetryLaterError } from '../domain/errors';
import type { AttemptOptions, RetryPolicy } from '../domain/retry-policy';
import { CallOutcomeWindow } from './call-outcome-window';
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
  /**
   * When a command's budget is spent, the share of the other commands' latest calls (those since its first call,
   * and at least `outageMinCalls`) that must have failed, more than this, for the failure to be called an outage
   * rather than the card's own...
   */
  outageFailureRate: number;
  /** ...out of at least this many calls. The circuit breaker's rate and minimum, in production. */
  outageMinCalls: number;
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
 * The breaker weighs a long window, so an outage of a few seconds after a busy minute does not open it, yet can
 * spend a whole budget of attempts. So before a command's failure is made final, the policy asks whether the other
 * commands' calls fared any better since its first call, or in their latest calls if they made too few meanwhile
 * (the same rate and minimum as the breaker's): if they failed too, the failure is the provider's, and the command is put off (RetryLaterError) to come back
 * with a fresh budget, until its deadline.
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
  // A command's span lasts at most its budget plus its last call; a minute more covers any call's timeout.
  const outcomes = new CallOutcomeWindow(settings.budgetMs + 60_000);
  /** RetryLaterError when the other commands' calls since `started` failed too, else none. */
  const outageAround = (
    started: number,
    own: { calls: number; failures: number },
    error: Error,
  ): RetryLaterError | undefined => {
    // Since the command's first call, and further back if the others made too few calls meanwhile to tell.
    const all = outcomes.tallyBack(
      now(),
      started,
      (tally) => tally.calls - own.calls >= settings.outageMinCalls,
    );
    const calls = all.calls - own.calls;
    const failures = all.failures - own.failures;
    if (calls < settings.outageMinCalls || failures <= settings.outageFailureRate * calls) {
      return undefined;
    }
    return new RetryLaterError(
      `the provider failed ${failures} of the other commands' ${calls} latest calls: an outage, not this card's failure (last: ${error.message})`,
      { cause: error },
    );
  };

  return {
    async execute<T>(
      operation: () => Promise<T>,
      signal?: AbortSignal,
      options?: AttemptOptions,
    ): Promise<T> {
      const started = now();
      const own = { calls: 0, failures: 0 };
      const tally = (failed: boolean): void => {
        outcomes.record(now(), failed);
        own.calls += 1;
        own.failures += failed ? 1 : 0;
      };
      for (let attempt = 1; ; attempt++) {
        if (signal?.aborted) {
          throw stopping();
        }
        if (options?.expired?.()) {
          throw new CommandExpiredError();
        }
        try {
          const result = await deps.breaker.execute(operation);
          tally(false);
          return result;
        } catch (error) {
          if (!(error instanceof CircuitOpenError)) {
            tally(isUnavailability(error));
          }
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
            const outage = isUnavailability(error) ? outageAround(started, own, error) : undefined;
            if (outage) {
              throw outage;
            }
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
