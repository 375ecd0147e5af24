import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Sleeps `ms`, heartbeating every second meanwhile when given a heartbeat: in eachMessage mode kafkajs sends none
 * while a handler runs, and a backoff longer than the session timeout would get the member thrown out of its group
 * and the message redelivered from the start, for ever.
 */
export async function sleepWithHeartbeats(
  ms: number,
  heartbeat?: () => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  const options = signal ? { signal } : {};
  if (!heartbeat) {
    await sleep(ms, undefined, options).catch(() => undefined);
    return;
  }
  const until = Date.now() + ms;
  for (let left = ms; left > 0 && !signal?.aborted; left = until - Date.now()) {
    await sleep(Math.min(left, 1000), undefined, options).catch(() => undefined);
    if (signal?.aborted) {
      return;
    }
    await heartbeat();
  }
}

/** A promise with its resolve function, for one-shot wake-ups. */
export function wakeUp(): { promise: Promise<void>; wake: () => void } {
  let wake = (): void => undefined;
  const promise = new Promise<void>((resolve) => {
    wake = resolve;
  });
  return { promise, wake };
}
