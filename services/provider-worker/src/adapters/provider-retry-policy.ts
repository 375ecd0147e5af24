import { ExponentialBackoff, fullJitterGenerator, handleWhen, retry } from 'cockatiel';

import { isTransient } from '../domain/errors';
import type { RetryPolicy } from '../domain/retry-policy';

/** The retry budget of provider calls. */
export interface ProviderRetrySettings {
  /** Calls in all, the first included. */
  maxAttempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
}

/**
 * cockatiel's retry policy for provider calls: transient failures only, exponential backoff with full jitter, so a
 * crowd of workers that failed together does not come back together.
 */
export function createProviderRetryPolicy(settings: ProviderRetrySettings): RetryPolicy {
  return retry(
    handleWhen((error) => isTransient(error)),
    {
      // cockatiel counts retries, not calls.
      maxAttempts: settings.maxAttempts - 1,
      backoff: new ExponentialBackoff({
        generator: fullJitterGenerator,
        initialDelay: settings.initialDelayMs,
        maxDelay: settings.maxDelayMs,
      }),
    },
  );
}
