import { AppError, ErrorCode } from '@cards/contracts';
import type { RequestHandler, Response } from 'express';

/** Probes must answer under overload: an orchestrator that sees them fail restarts a replica that is only busy. */
const EXEMPT_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

/** Where a request keeps the function that gives its in-flight slot back. */
const RELEASE_SLOT = Symbol('admission slot');

const overloaded = (detail: string, retryAfterSeconds: number): AppError =>
  new AppError({
    code: ErrorCode.OVERLOADED,
    kind: 'unavailable',
    message: 'Service Unavailable',
    details: { detail },
    retryAfterSeconds,
  });

export interface AdmissionLimits {
  /** Requests being worked on at once (held long-polls not included). */
  maxInFlight: number;
  /** Long-polls held open at once. */
  maxLongPolls: number;
  /** The Retry-After of a refusal. */
  retryAfterSeconds: number;
}

/**
 * Bounds the work this process takes on, so overload costs neither memory nor accepted cards: past a bound a request
 * is answered 503 OVERLOADED with Retry-After at once, before any parsing, authentication or database work, instead
 * of queueing behind the pool. Two bounds, because a long-poll and a request differ: a request being worked on
 * holds CPU and a pooled connection; a held long-poll holds only a socket and a waiter, for up to 30 s. A request
 * that becomes a long-poll moves from the first bound to the second (`holdLongPoll`). Counted per process.
 */
export class AdmissionControl {
  private inFlight = 0;
  private longPolls = 0;

  constructor(private readonly limits: AdmissionLimits) {}

  /** Admits a request or refuses it; /healthz, /readyz and /metrics always pass, uncounted. */
  readonly admit: RequestHandler = (req, res, next) => {
    if (EXEMPT_PATHS.has(req.path)) {
      next();
      return;
    }
    if (this.inFlight >= this.limits.maxInFlight) {
      // Straight to the problem handler: nothing of the request is read or worked on.
      next(
        overloaded(
          'Too many requests are being served; retry after Retry-After seconds.',
          this.limits.retryAfterSeconds,
        ),
      );
      return;
    }
    this.inFlight += 1;
    let released = false;
    const release = (): void => {
      if (!released) {
        released = true;
        this.inFlight -= 1;
      }
    };
    (res as Response & { [RELEASE_SLOT]?: () => void })[RELEASE_SLOT] = release;
    // 'close' comes however the response ends: answered, failed, or the client went away.
    res.once('close', release);
    next();
  };

  /**
   * Turns an admitted request into a held long-poll: takes a long-poll slot (or throws 503 OVERLOADED) and gives
   * back its in-flight slot; the long-poll slot is given back when the response ends.
   */
  holdLongPoll(res: Response): void {
    if (this.longPolls >= this.limits.maxLongPolls) {
      throw overloaded(
        'Too many long-polls are held open; poll without Prefer: wait, or retry after Retry-After seconds.',
        this.limits.retryAfterSeconds,
      );
    }
    this.longPolls += 1;
    let released = false;
    res.once('close', () => {
      if (!released) {
        released = true;
        this.longPolls -= 1;
      }
    });
    (res as Response & { [RELEASE_SLOT]?: () => void })[RELEASE_SLOT]?.();
  }

  /** Requests being worked on and long-polls held now (tests, metrics). */
  get load(): { inFlight: number; longPolls: number } {
    return { inFlight: this.inFlight, longPolls: this.longPolls };
  }
}
