import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Retries `probe` until it returns without throwing, then returns its value; rethrows its last error after
 * `timeoutMs`. For state that settles asynchronously (a row written by a consumer), instead of a fixed sleep.
 */
export async function eventually<T>(
  probe: () => Promise<T> | T,
  options: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 15_000);
  for (;;) {
    try {
      return await probe();
    } catch (error) {
      if (Date.now() >= deadline) {
        throw error;
      }
      await sleep(options.intervalMs ?? 100);
    }
  }
}
