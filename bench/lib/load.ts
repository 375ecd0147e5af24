import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

import { call, cardOf } from './http-client.ts';

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

/** Closed loop: `concurrency` clients each run `once` again as soon as it finishes, for `seconds`. */
export async function closedLoop(
  concurrency: number,
  seconds: number,
  once: () => Promise<void>,
): Promise<void> {
  const until = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < until) {
        await once();
      }
    }),
  );
}

/** What happened to one card a client asked for. Times are performance.now() milliseconds. */
export interface Journey {
  startedAt: number;
  acceptedAt?: number;
  terminalAt?: number;
  cardId?: string;
  status?: string;
  /** Why the card was not accepted: an HTTP status or an error message. */
  error?: string;
  /** Long-polls that failed (answered other than 200, or not at all); the client polls again, as a real one would. */
  pollErrors: number;
}

const TERMINAL = new Set(['ACTIVE', 'FAILED']);

/**
 * A client that needs a card: POST /v1/cards, then long-poll the card (`Prefer: wait`) until it is terminal or
 * `deadline` (performance.now() ms) passes. `startedAt` is when the request was due (open loop) or sent.
 */
export async function requestCardAndWait(
  apiUrl: string,
  token: string,
  startedAt: number,
  deadline: number,
): Promise<Journey> {
  const journey: Journey = { startedAt, pollErrors: 0 };
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  try {
    const accepted = await call(`${apiUrl}/v1/cards`, { method: 'POST', headers, body: '{"color":"gold"}' });
    journey.acceptedAt = performance.now();
    const card = cardOf(accepted.body);
    if (accepted.status !== 202 || !card) {
      journey.error = `POST answered ${accepted.status}`;
      return journey;
    }
    journey.cardId = card.id;
    journey.status = card.status;
    while (!TERMINAL.has(journey.status) && performance.now() < deadline) {
      const waitSeconds = Math.max(1, Math.min(30, Math.ceil((deadline - performance.now()) / 1000)));
      const current = await call(`${apiUrl}/v1/cards/${card.id}`, {
        method: 'GET',
        headers: { ...headers, prefer: `wait=${waitSeconds}` },
      }).then(
        (polled) => (polled.status === 200 ? cardOf(polled.body) : undefined),
        () => undefined,
      );
      if (!current) {
        journey.pollErrors += 1;
        await sleep(100);
        continue;
      }
      journey.status = current.status;
    }
    if (TERMINAL.has(journey.status)) {
      journey.terminalAt = performance.now();
    }
  } catch (error) {
    journey.error = error instanceof Error ? error.message : String(error);
  }
  return journey;
}
