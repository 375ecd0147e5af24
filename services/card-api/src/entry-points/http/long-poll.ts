import type { Request, Response } from 'express';

import type { CardRecord } from '../../domain/card';
import type { LongPollSlots } from './abuse-limits';
import type { AdmissionControl } from './admission-control';

/**
 * Wakes the requests waiting on a card when it changes, handing each the card from one batched read of the change
 * notification (data-access/notifications.ts: CardChangeWaiters); undefined when the wait timed out or was aborted.
 */
export interface ChangeWaiters {
  wait(cardId: string, timeoutMs: number, signal?: AbortSignal): Promise<CardRecord | undefined>;
}

/** What holding a request open needs: the change notifications, and the bounds on how many may be held. */
export interface LongPollDeps {
  waiters: ChangeWaiters;
  /** A client's `Prefer: wait` above this is cut to it. */
  longPollMaxSeconds: number;
  /** Bounds the long-polls each user holds open. */
  longPollSlots: LongPollSlots;
  /** Bounds the requests and long-polls this process holds (503 OVERLOADED past them). */
  admission: AdmissionControl;
  /** Aborted when the process shuts down: held long-polls answer at once with what they have. */
  shutdown: AbortSignal;
}

/** Parses `Prefer: wait=N` (RFC 7240); undefined when absent or malformed (a preference may be ignored). */
export function preferredWaitSeconds(header: string | undefined): number | undefined {
  const match = header ? /(?:^|[,;\s])wait=(\d{1,6})(?:$|[,;\s])/i.exec(header) : null;
  return match?.[1] ? Number(match[1]) : undefined;
}

/**
 * Takes a long-poll slot of the user and one of the process (429 LONG_POLL_LIMIT_REACHED, 503 OVERLOADED past
 * them), each given back when the response ends, however it ends (answered, failed, or the client went away).
 */
export function holdLongPollSlots(deps: LongPollDeps, res: Response, userId: string): void {
  res.on('close', deps.longPollSlots.acquire(userId));
  deps.admission.holdLongPoll(res);
}

/**
 * Holds a request until `card` is worth answering (`unchanged` says it is not yet), `waitSeconds` pass, the client
 * goes away or the process shuts down; returns the card to answer with, or undefined when the client went away.
 * The caller holds the long-poll slots first (holdLongPollSlots).
 *
 * It subscribes before its first read, so a change in between is not missed; a wake-up hands it the card from the
 * one batched read of the notification (ChangeWaiters), so it reads for itself only at the start, on a timeout,
 * and after a wake-up that changed nothing worth answering.
 */
export async function waitForChange(
  deps: LongPollDeps,
  options: {
    res: Response;
    cardId: string;
    waitSeconds: number;
    read: () => Promise<CardRecord>;
    unchanged: (card: CardRecord) => boolean;
    /**
     * The card as this request just wrote it, instead of a first read. A change committed after it, before the
     * subscription, would then be seen only at the timeout's read; the saga takes longer than that gap by far.
     */
    initial?: CardRecord | undefined;
  },
): Promise<CardRecord | undefined> {
  const { res, waitSeconds, read, unchanged } = options;
  const deadline = Date.now() + waitSeconds * 1000;
  const finished = new AbortController();
  const abandoned = new AbortController();
  res.on('close', () => {
    abandoned.abort();
  });
  const stopWaiting = AbortSignal.any([abandoned.signal, deps.shutdown, finished.signal]);
  const waitingOver = (): boolean => Date.now() >= deadline || stopWaiting.aborted;
  const subscribe = () => deps.waiters.wait(options.cardId, deadline - Date.now(), stopWaiting);
  try {
    let woken = waitSeconds > 0 ? subscribe() : undefined;
    let card = options.initial ?? (await read());
    while (woken && unchanged(card) && !waitingOver()) {
      card = (await woken) ?? (abandoned.signal.aborted ? card : await read());
      woken = undefined;
      if (unchanged(card) && !waitingOver()) {
        // Woken by a change not worth answering: subscribe again, then re-read, so nothing is missed.
        woken = subscribe();
        card = await read();
      }
    }
    return abandoned.signal.aborted ? undefined : card;
  } finally {
    finished.abort();
  }
}

/**
 * A card read that honours `Prefer: wait=N`: without the preference, one read; with it, the request holds its
 * long-poll slots (`Preference-Applied` says for how long) and waits for a change worth answering (waitForChange).
 */
export async function readWithPreferredWait(
  deps: LongPollDeps,
  req: Request,
  res: Response,
  userId: string,
  options: { cardId: string; read: () => Promise<CardRecord>; unchanged: (card: CardRecord) => boolean },
): Promise<CardRecord | undefined> {
  const requested = preferredWaitSeconds(req.get('prefer'));
  if (requested === undefined) {
    return options.read();
  }
  const waitSeconds = Math.min(requested, deps.longPollMaxSeconds);
  res.set('Preference-Applied', `wait=${waitSeconds}`);
  if (waitSeconds > 0) {
    holdLongPollSlots(deps, res, userId);
  }
  return waitForChange(deps, { res, waitSeconds, ...options });
}
