import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Open loop: calls `send(i, scheduledAt)` for i = 0, 1, … at `rate` per second for `seconds`, on a fixed schedule
 * that never waits for an answer, so a slow system cannot slow the load down and hide its own slowness. A send
 * that a busy event loop fires late keeps its scheduled time, and `lagMs` says how late the generator was.
 */
export async function openLoop(
  rate: number,
  seconds: number,
  send: (index: number, scheduledAt: number) => void,
): Promise<{ sent: number; lagMs: number[] }> {
  const total = Math.round(rate * seconds);
  const intervalMs = 1000 / rate;
  const start = performance.now();
  const lagMs: number[] = [];
  let next = 0;
  while (next < total) {
    const now = performance.now();
    // Every send that is due goes now (a timer may fire a few ms late; the schedule is kept, not shifted).
    while (next < total && start + next * intervalMs <= now) {
      const scheduledAt = start + next * intervalMs;
      lagMs.push(now - scheduledAt);
      send(next, scheduledAt);
      next += 1;
    }
    if (next < total) {
      await sleep(Math.max(0, start + next * intervalMs - performance.now()));
    }
  }
  return { sent: total, lagMs };
}
