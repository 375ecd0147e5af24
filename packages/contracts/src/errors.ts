import type { ErrorCode, WorkerErrorCode } from './error-codes';

/**
 * What kind of failure an error is, in the system's own words. Each edge turns a kind into its answer in one place:
 * the HTTP edge into a status (card-api's entry-points/http/problem.ts), the Kafka port into a retry, a deferral or
 * a dead letter (packages/messaging/src/error-policy.ts).
 */
export type ErrorKind =
  /** The input cannot be read as asked: a bad id, header or reference. */
  | 'malformed'
  /** Readable, but it breaks a schema or a rule. */
  | 'invalid'
  /** In a form this system does not take (a body that is not JSON). */
  | 'unsupported'
  | 'unauthenticated'
  | 'forbidden'
  | 'not-found'
  /** It clashes with the state of things (a duplicate, a request still running). */
  | 'conflict'
  /** Over a limit of requests in a window; `retryAfterSeconds` says when to come back. */
  | 'rate-limited'
  /** A dependency is away, failing or saturated: the same request may succeed later. */
  | 'unavailable'
  /** Not now, and not the request's fault (a circuit is open, the process is stopping): hand it over again later. */
  | 'deferred'
  /** A bug. */
  | 'internal';

/** Every code an AppError may carry: the HTTP API's, and provider-worker's (which name dead letters' reasons). */
export type AppErrorCode = ErrorCode | WorkerErrorCode;

/**
 * The one error type the services throw for a failure they expect and name: a stable code, a kind, a message safe to
 * show a client or an operator, and details for the answer (`detail`, `errors`). Anything else that is thrown is a
 * bug or a dependency's own error, and the edges treat it as such.
 */
export class AppError extends Error {
  readonly code: AppErrorCode;
  readonly kind: ErrorKind;
  readonly details: Readonly<Record<string, unknown>>;
  /** When a client should try again (rate-limited, unavailable, a request still running). */
  readonly retryAfterSeconds: number | undefined;

  constructor(options: {
    code: AppErrorCode;
    kind: ErrorKind;
    message: string;
    details?: Record<string, unknown>;
    retryAfterSeconds?: number;
    cause?: unknown;
  }) {
    super(options.message, { cause: options.cause });
    this.name = 'AppError';
    this.code = options.code;
    this.kind = options.kind;
    this.details = options.details ?? {};
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}
