import { AppError, ErrorCode } from '@cards/contracts';
import type { RequestHandler } from 'express';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';

import { RATE_LIMITED_DETAIL } from '../../domain/request-card';

export interface ClientAddressLimits {
  perClientAddress: number;
  windowSeconds: number;
}

/**
 * Limits card requests per client address over a fixed window, in each replica's memory, so that limit is per
 * replica (N replicas allow N times as many): in PostgreSQL, every request from one address (behind a load balancer,
 * from everyone) updated one row and waited on its lock in turn. A refused request still counts, so hammering does
 * not earn a quicker retry; it costs no database work at all.
 *
 * The per-user limit is not here: it is counted in PostgreSQL, in the same call that stores the card (requestCard,
 * `create_card_if_allowed`), so it holds across replicas for no round trip of its own.
 */
export function clientAddressRateLimit(limits: ClientAddressLimits): RequestHandler {
  const perClientAddress = new RateLimiterMemory({
    duration: limits.windowSeconds,
    keyPrefix: 'cards:create:ip',
    points: limits.perClientAddress,
  });

  return async (req, _res, next) => {
    try {
      await perClientAddress.consume(req.ip ?? 'unknown');
    } catch (refusal) {
      if (refusal instanceof RateLimiterRes) {
        throw new AppError({
          code: ErrorCode.RATE_LIMITED,
          kind: 'rate-limited',
          message: 'Too Many Requests',
          details: { detail: RATE_LIMITED_DETAIL },
          retryAfterSeconds: Math.max(1, Math.ceil(refusal.msBeforeNext / 1000)),
        });
      }
      throw refusal;
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
      throw new AppError({
        code: ErrorCode.LONG_POLL_LIMIT_REACHED,
        kind: 'rate-limited',
        message: 'Too Many Requests',
        details: {
          detail: `At most ${this.maxPerUser} long-polls per user may be open at once; poll without Prefer: wait, or retry later.`,
        },
        retryAfterSeconds: 1,
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
