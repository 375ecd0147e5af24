import type { ErrorCode } from '@cards/contracts';

/** What kind of failure an error is; only the edges (HTTP, Kafka) turn a kind into a status or a retry. */
export type ErrorKind =
  | 'validation'
  | 'unauthenticated'
  | 'forbidden'
  | 'not-found'
  | 'conflict'
  | 'unsupported-media-type'
  | 'dependency'
  | 'internal';

/** A failure the domain expects and names: a stable code, a kind, and a message safe to show a client. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly kind: ErrorKind;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(options: {
    code: ErrorCode;
    kind: ErrorKind;
    message: string;
    details?: Record<string, unknown>;
    cause?: unknown;
  }) {
    super(options.message, { cause: options.cause });
    this.name = 'AppError';
    this.code = options.code;
    this.kind = options.kind;
    this.details = options.details ?? {};
  }
}
