import { setTimeout as sleep } from 'node:timers/promises';

/** How hard `retryWithinBudget` tries. */
export interface RetryBudget {
  /** Time from the first attempt after which no further attempt starts; a delay never runs past it. */
  budgetMs: number;
  /** Upper bound of the first backoff delay; each later bound doubles, up to `maxDelayMs`. */
  initialDelayMs: number;
  maxDelayMs: number;
}

/**
 * The delay before retry number `attempt` (1 = after the first call): exponential with full jitter, so callers that
 * failed together do not come back together, and never past the end of the budget (`remainingMs`).
 */
export function backoffDelayMs(
  attempt: number,
  settings: Pick<RetryBudget, 'initialDelayMs' | 'maxDelayMs'>,
  remainingMs: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(settings.maxDelayMs, settings.initialDelayMs * 2 ** (attempt - 1));
  return Math.max(0, Math.min(Math.floor(random() * ceiling), remainingMs));
}

/** Thrown when the budget ran out on transient failures; `cause` is the last one. */
export class RetryBudgetExhaustedError extends Error {
  constructor(
    readonly attempts: number,
    readonly lastError: unknown,
  ) {
    super(
      `gave up after ${String(attempts)} attempt(s): ${lastError instanceof Error ? lastError.message : String(lastError)}`,
      { cause: lastError },
    );
    this.name = 'RetryBudgetExhaustedError';
  }
}

/**
 * Runs `operation` again while it fails with an error `isTransient` accepts, with exponential backoff and full
 * jitter, until it succeeds, fails otherwise (that error is thrown as it is), `signal` aborts (its reason is thrown)
 * or the budget of time runs out (RetryBudgetExhaustedError). One budget may be shared by several operations: pass
 * the same `startedAt`, and they together get no more than `budgetMs`.
 *
 * Hand-written rather than cockatiel's retry: that one has no time budget, and its delays ignore the abort signal.
 */
export async function retryWithinBudget<T>(
  operation: () => Promise<T>,
  options: RetryBudget & {
    isTransient: (error: unknown) => boolean;
    signal?: AbortSignal | undefined;
    /** When the budget started (ms, `now`'s clock); now by default. */
    startedAt?: number;
    now?: () => number;
    random?: () => number;
  },
): Promise<T> {
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const startedAt = options.startedAt ?? now();
  for (let attempt = 1; ; attempt++) {
    options.signal?.throwIfAborted();
    try {
      return await operation();
    } catch (error) {
      if (!options.isTransient(error)) {
        throw error;
      }
      const remainingMs = options.budgetMs - (now() - startedAt);
      if (remainingMs <= 0) {
        throw new RetryBudgetExhaustedError(attempt, error);
      }
      await sleep(backoffDelayMs(attempt, options, remainingMs, random), undefined, {
        ...(options.signal && { signal: options.signal }),
      });
    }
  }
}
