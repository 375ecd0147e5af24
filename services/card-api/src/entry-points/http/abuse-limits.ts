import { ErrorCode } from '@cards/contracts';
import type { RequestHandler } from 'express';
import type { Knex } from 'knex';
import { RateLimiterMemory, RateLimiterPostgres, RateLimiterRes } from 'rate-limiter-flexible';

import { currentUser } from './auth';
import { HttpProblem } from './problem';

export interface CardCreationLimits {
  perUser: number;
  perClientAddress: number;
  windowSeconds: number;
}

const rateLimited = (retryAfterSeconds: number, detail: string): HttpProblem =>
  new HttpProblem({
    status: 429,
    code: ErrorCode.RATE_LIMITED,
    title: 'Too Many Requests',
    details: { detail },
    headers: { 'Retry-After': String(retryAfterSeconds) },
  });

/**
 * Limits card requests per user and per client address over a fixed window. A request refused by either limit still
 * counts, so hammering does not earn a quicker retry.
 *
 * The per-user counters live in PostgreSQL, so that limit holds however many replicas share the load; a store
 * failure is not a pass: it fails the request like any other database failure would. The per-address counters live
 * in each replica's memory, so that limit is per replica (N replicas allow N times as many): in PostgreSQL, every
 * request from one address (behind a load balancer, from everyone) updated one row and waited on its lock in turn.
 */
export function cardCreationRateLimit(db: Knex, limits: CardCreationLimits): RequestHandler {
  const perUser = new RateLimiterPostgres({
    storeClient: db,
    storeType: 'knex',
    tableName: 'rate_limits',
    tableCreated: true,
    duration: limits.windowSeconds,
    keyPrefix: 'cards:create:user',
    points: limits.perUser,
  });
  const perClientAddress = new RateLimiterMemory({
    duration: limits.windowSeconds,
    keyPrefix: 'cards:create:ip',
    points: limits.perClientAddress,
  });

  return async (req, res, next) => {
    const user = currentUser(res);
    const outcomes = await Promise.allSettled([
      perUser.consume(user.id),
      perClientAddress.consume(req.ip ?? 'unknown'),
    ]);
    const refusals = outcomes.flatMap((outcome) =>
      outcome.status === 'rejected' && outcome.reason instanceof RateLimiterRes ? [outcome.reason] : [],
    );
    const storeFailure = outcomes.find(
      (outcome): outcome is PromiseRejectedResult =>
        outcome.status === 'rejected' && !(outcome.reason instanceof RateLimiterRes),
    );
    if (storeFailure) {
      throw storeFailure.reason;
    }
    if (refusals.length > 0) {
      const waitMs = Math.max(...refusals.map((refusal) => refusal.msBeforeNext));
      throw rateLimited(
        Math.max(1, Math.ceil(waitMs / 1000)),
        'Too many card requests; retry after the number of seconds in Retry-After.',
      );
    }
    next();
  };
}

/**
 * Bounds the long-polls one user holds open in this process: each holds a socket and a waiter, so without a bound
 * one client could hold thousands. Counted per process (a long-poll lives in one process); the bound is per replica.
 */
export class LongPollSlots {
  private readonly held = new Map<string, number>();

  constructor(private readonly maxPerUser: number) {}

  /** Takes a slot for `userId`, or throws 429; the returned function gives it back (idempotent). */
  acquire(userId: string): () => void {
    const count = this.held.get(userId) ?? 0;
    if (count >= this.maxPerUser) {
      throw new HttpProblem({
        status: 429,
        code: ErrorCode.LONG_POLL_LIMIT_REACHED,
        title: 'Too Many Requests',
        details: {
          detail: `At most ${this.maxPerUser} long-polls per user may be open at once; poll without Prefer: wait, or retry later.`,
        },
        headers: { 'Retry-After': '1' },
      });
    }
    this.held.set(userId, count + 1);
    let released = false;
    return () => {
      if (released) {
        return;
      }
      released = true;
      const remaining = (this.held.get(userId) ?? 1) - 1;
      if (remaining > 0) {
        this.held.set(userId, remaining);
      } else {
        this.held.delete(userId);
      }
    };
  }

  /** Slots held now, for tests and metrics. */
  heldBy(userId: string): number {
    return this.held.get(userId) ?? 0;
  }
}
