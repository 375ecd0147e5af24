import { createHash } from 'node:crypto';

import { AppError, ErrorCode, PROBLEM_CONTENT_TYPE } from '@cards/contracts';
import type { Logger } from '@cards/runtime';
import type { Request, Response } from 'express';

import type {
  IdempotencyClaim,
  IdempotencyStore,
  RecordedResponse,
} from '../../data-access/idempotency.repository';
import { expectedProblem, problemBody } from './problem';

/*
 * Idempotency-Key, as the well-known payment APIs do it (Stripe-like), per user:
 *
 * - The first request with a key claims it (IN_PROGRESS) in its own short statement, runs, and records its answer
 *   (COMPLETED): a 2xx, or a 4xx (a validation error, the card limit). The same key and request later replay that
 *   answer with `Idempotent-Replayed: true`, creating nothing. A 5xx or a 429 (the per-user rate limit is counted
 *   in the card's own database call) records nothing: the claim is deleted so the client can retry with the key.
 * - The same key with another request → 422 IDEMPOTENCY_KEY_REUSED; while the first still runs → 409
 *   IDEMPOTENCY_REQUEST_IN_PROGRESS with Retry-After. A key older than the TTL is a new key (and is purged).
 *
 * The crash window. The answer is recorded in its own statement right after the card's transaction commits, not
 * inside it: the card transaction is requestCard's port (data-access/transactions.ts), which knows nothing of HTTP
 * answers. A process dying between the two leaves a created card and a key still IN_PROGRESS. Two things make
 * that safe:
 * - The claim reserves the card's id up front (stored in the IN_PROGRESS row as the Location it will answer with)
 *   and the card is inserted with exactly that id. A later request that finds the claim IN_PROGRESS for longer than
 *   STALE_CLAIM_SECONDS takes it over (one taker wins, by a guarded UPDATE) and first looks for the reserved card:
 *   when it exists, the answer is rebuilt from it and recorded, so the client gets its card (as it is now), not a
 *   second one. Only when it does not exist does the taker run the request again, with the same reserved id.
 * - A predecessor that was only slow, not dead, and commits after a takeover cannot add a card either: both insert
 *   the same primary key, and the loser finds the winner's card and answers it.
 * What remains: a predecessor stalled for over a minute inside its uncommitted transaction, whose taker then fails
 * with a 5xx and releases the key before the predecessor commits; a retry would then reserve a new card. That takes
 * a transaction held open past the stale threshold and a failure in the same second, and is accepted.
 */

/** Header that marks an answer as the replay of an earlier one. */
export const REPLAYED_HEADER = 'Idempotent-Replayed';

/** An IN_PROGRESS claim this old is presumed to belong to a dead process, and may be taken over. */
export const STALE_CLAIM_SECONDS = 60;

/** Seconds a client should wait before retrying a request whose key is still in progress. */
const IN_PROGRESS_RETRY_AFTER_SECONDS = 1;

/** Printable ASCII (space to tilde), 1 to 255 characters. */
const KEY_PATTERN = /^[\x20-\x7E]{1,255}$/;

/**
 * The Idempotency-Key of a request (all values of the header), undefined when absent; a key that is empty, longer
 * than 255, not printable ASCII or sent more than once is a 400 IDEMPOTENCY_KEY_INVALID.
 */
export function parseIdempotencyKey(values: readonly string[] | undefined): string | undefined {
  if (values === undefined) {
    return undefined;
  }
  const [key] = values;
  if (values.length !== 1 || key === undefined || !KEY_PATTERN.test(key)) {
    throw new AppError({
      code: ErrorCode.IDEMPOTENCY_KEY_INVALID,
      kind: 'malformed',
      message: 'Invalid Idempotency-Key',
      details: { detail: 'Send one Idempotency-Key header of 1 to 255 printable ASCII characters.' },
    });
  }
  return key;
}

/** Values JSON.stringify leaves out of an object (and writes as null in an array). */
function omittedByJson(value: unknown): boolean {
  return value === undefined || typeof value === 'function' || typeof value === 'symbol';
}

/**
 * The order members are written in: sorted, then as an object built from the sorted names would enumerate them
 * (integer-like names first, ascending). The hash was once JSON.stringify of such an object; keeping its order
 * keeps the hashes already stored valid.
 */
function memberOrder(object: Record<string, unknown>): string[] {
  const sorted = Object.keys(object).sort();
  return Object.keys(Object.fromEntries(sorted.map((name) => [name, true])));
}

/**
 * JSON with object members in sorted order at every depth, so the same data always gives the same text. It walks
 * the value with a stack of its own, not by recursion: a body of a few thousand nested arrays fits in the body
 * limit and would overflow the call stack (JSON.stringify's too), turning a client's garbage into a 500.
 */
export function canonicalJson(value: unknown): string {
  const text: string[] = [];
  // Popped from the end: each entry is a value still to write, or a piece of punctuation to copy as it is.
  const pending: ({ value: unknown } | { literal: string })[] = [{ value }];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    if ('literal' in next) {
      text.push(next.literal);
      continue;
    }
    const current = next.value;
    if (Array.isArray(current)) {
      pending.push({ literal: ']' });
      for (let index = current.length - 1; index >= 0; index--) {
        pending.push({ value: current[index] ?? null });
        if (index > 0) {
          pending.push({ literal: ',' });
        }
      }
      pending.push({ literal: '[' });
    } else if (current !== null && typeof current === 'object') {
      const object = current as Record<string, unknown>;
      const names = memberOrder(object).filter((name) => !omittedByJson(object[name]));
      pending.push({ literal: '}' });
      for (let index = names.length - 1; index >= 0; index--) {
        const name = names[index] ?? '';
        pending.push({ value: object[name] });
        pending.push({ literal: `${index > 0 ? ',' : ''}${JSON.stringify(name)}:` });
      }
      pending.push({ literal: '{' });
    } else {
      // No body (undefined) hashes as null, as it always has; so does anything else JSON has no text for.
      text.push(omittedByJson(current) ? 'null' : JSON.stringify(current));
    }
  }
  return text.join('');
}

/** The fingerprint a key is bound to: sha256 of the method, the path and the canonical JSON body. */
export function requestHash(request: { method: string; path: string; body: unknown }): string {
  return createHash('sha256')
    .update(`${request.method.toUpperCase()} ${request.path}\n${canonicalJson(request.body)}`)
    .digest('hex');
}

/** Writes a recorded (or about to be recorded) answer; a replay is marked with `Idempotent-Replayed: true`. */
export function sendRecorded(
  res: Response,
  response: RecordedResponse,
  options: { replayed?: boolean } = {},
): void {
  res.status(response.status).set(response.headers);
  if (options.replayed) {
    res.set(REPLAYED_HEADER, 'true');
  }
  res.send(JSON.stringify(response.body));
}

/** Where keys are kept and for how long; one per process. */
export interface IdempotencySettings {
  store: IdempotencyStore;
  logger: Logger;
  /** How long a key is remembered; an older one is treated as new. */
  ttlHours: number;
}

/** What a route runs at most once per key: a resource reserved up front, created, or found again after a crash. */
export interface IdempotentWork {
  /** Reserves what the request would create; returns its Location, which also identifies the claim. */
  reserve(): string;
  /** Runs the request for a reservation. Throws as a route does; 4xx problems are recorded, the rest is not. */
  execute(reservedLocation: string): Promise<RecordedResponse>;
  /** The answer for a reservation whose resource exists already; undefined when it does not. */
  recover(reservedLocation: string): Promise<RecordedResponse | undefined>;
}

export interface IdempotentRequest extends IdempotencySettings, IdempotentWork {
  userId: string;
  key: string;
  requestHash: string;
  /** Tags a problem body as the problem handler would (the request id). */
  requestId: unknown;
}

/** What to send: a fresh answer, or the replay of a recorded one. */
export interface IdempotentOutcome {
  response: RecordedResponse;
  replayed: boolean;
}

const keyReused = (): AppError =>
  new AppError({
    code: ErrorCode.IDEMPOTENCY_KEY_REUSED,
    kind: 'invalid',
    message: 'Idempotency-Key reused',
    details: {
      detail: 'This Idempotency-Key was used for a different request; use a new key for a new request.',
    },
  });

const inProgress = (): AppError =>
  new AppError({
    code: ErrorCode.IDEMPOTENCY_REQUEST_IN_PROGRESS,
    kind: 'conflict',
    message: 'Request in progress',
    details: {
      detail: 'A request with this Idempotency-Key is still running; retry shortly for its answer.',
    },
    retryAfterSeconds: IN_PROGRESS_RETRY_AFTER_SECONDS,
  });

/**
 * Runs a route's work at most once per (user, Idempotency-Key): the one wrapper every idempotent route goes through.
 * Without the header the work runs once, as asked; a malformed header is a 400 before anything runs.
 */
export async function idempotently(
  req: Request,
  res: Response,
  userId: string,
  settings: IdempotencySettings,
  work: IdempotentWork,
): Promise<IdempotentOutcome> {
  const key = parseIdempotencyKey(req.headersDistinct['idempotency-key']);
  if (key === undefined) {
    return { response: await work.execute(work.reserve()), replayed: false };
  }
  return runIdempotently({
    ...settings,
    ...work,
    userId,
    key,
    requestHash: requestHash({ method: req.method, path: req.path, body: req.body as unknown }),
    requestId: res.locals['requestId'],
  });
}

/** Claims lost to a concurrent release or expiry before we give up with 409 (each loss means progress elsewhere). */
const MAX_CLAIM_ATTEMPTS = 3;

/**
 * Runs a request at most once per (user, key): claims the key, or replays its recorded answer, or refuses (422 for
 * another request under the key, 409 while the first runs). See the comment at the top for the crash window.
 */
export async function runIdempotently(request: IdempotentRequest): Promise<IdempotentOutcome> {
  const limits = { ttlHours: request.ttlHours, staleAfterSeconds: STALE_CLAIM_SECONDS };
  for (let attempt = 0; attempt < MAX_CLAIM_ATTEMPTS; attempt++) {
    const fresh: IdempotencyClaim = {
      userId: request.userId,
      key: request.key,
      reservedLocation: request.reserve(),
    };
    if (await request.store.claim({ ...fresh, requestHash: request.requestHash }, request.ttlHours)) {
      return settle(fresh, request);
    }
    const found = await request.store.find({ userId: request.userId, key: request.key }, limits);
    if (!found || found.expired) {
      continue; // released or expired since our claim: claim again
    }
    if (found.requestHash !== request.requestHash) {
      throw keyReused();
    }
    if (found.status === 'COMPLETED') {
      return { response: found.response, replayed: true };
    }
    if (!found.stale) {
      throw inProgress();
    }
    const stale: IdempotencyClaim = { ...fresh, reservedLocation: found.reservedLocation };
    if (!(await request.store.takeOverStale(stale, STALE_CLAIM_SECONDS))) {
      continue; // another request took it over, or it completed meanwhile: look again
    }
    request.logger.warn(
      { key: request.key, userId: request.userId },
      'took over a stale Idempotency-Key claim',
    );
    const recovered = await recordExisting(stale, request);
    return recovered ?? settle(stale, request);
  }
  throw inProgress();
}

/** Runs the claimed request and records its answer, unless it is a 5xx or a 429: then the claim is released. */
async function settle(claim: IdempotencyClaim, request: IdempotentRequest): Promise<IdempotentOutcome> {
  let response: RecordedResponse;
  try {
    response = await request.execute(claim.reservedLocation);
  } catch (error) {
    const expected = expectedProblem(error);
    // A 429 is no answer to the request either: it was refused before it ran (Stripe saves nothing for one).
    if (!expected || expected.problem.status >= 500 || expected.problem.status === 429) {
      // Record nothing, so the client can retry with this key; unless the reserved card does exist (a slow
      // predecessor of a takeover won the insert, or the failure came after the commit): then that is the answer.
      const recovered = await recordExisting(claim, request).catch(() => undefined);
      if (recovered) {
        return recovered;
      }
      await request.store.release(claim).catch((releaseError: unknown) => {
        // The claim stays IN_PROGRESS and is taken over once stale.
        request.logger.warn({ err: releaseError, key: request.key }, 'could not release an Idempotency-Key');
      });
      throw error;
    }
    response = {
      status: expected.problem.status,
      headers: { 'Content-Type': PROBLEM_CONTENT_TYPE, ...expected.headers },
      body: problemBody(expected.problem, request.requestId),
    };
  }
  await record(claim, response, request);
  return { response, replayed: false };
}

/** When the claim's reserved resource exists, records and returns the answer for it (a replay: nothing new). */
async function recordExisting(
  claim: IdempotencyClaim,
  request: IdempotentRequest,
): Promise<IdempotentOutcome | undefined> {
  const response = await request.recover(claim.reservedLocation);
  if (!response) {
    return undefined;
  }
  await record(claim, response, request);
  return { response, replayed: true };
}

/** Records the claim's answer. */
async function record(
  claim: IdempotencyClaim,
  response: RecordedResponse,
  request: IdempotentRequest,
): Promise<void> {
  // The work is done and committed: failing to record it must not turn the answer into an error. The claim stays
  // IN_PROGRESS; once stale, a retry takes it over and finds the reserved card (see the top of this file).
  try {
    if (!(await request.store.complete(claim, response))) {
      request.logger.warn(
        { key: request.key },
        'the Idempotency-Key claim was gone when its answer was recorded',
      );
    }
  } catch (error) {
    request.logger.warn({ err: error, key: request.key }, 'could not record an Idempotency-Key answer');
  }
}
