import { AppError, type ErrorKind } from '@cards/contracts';

/*
 * The one place a handler's error becomes a consumer's decision. Every consumer of the project gets this policy by
 * default (startEventConsumer); a consumer may still pass its own.
 *
 * - An AppError of a kind no retry changes (the message is malformed, breaks a rule, names nothing, clashes with the
 *   state of things) goes to the dead-letter topic at once.
 * - An AppError of kind `deferred` ("not now, and not this message's fault") waits, uncounted and uncommitted.
 * - A dependency that is away (isAvailabilityError: the database, the broker, the network) is waited out without
 *   limit, and never dead-lettered.
 * - Anything else (an `unavailable` provider after its own retries, a bug) is retried in place up to maxAttempts,
 *   then dead-lettered.
 */

/** Kinds whose message no retry fixes. */
const DEAD_LETTER_AT_ONCE: ReadonlySet<ErrorKind> = new Set<ErrorKind>([
  'malformed',
  'invalid',
  'unsupported',
  'unauthenticated',
  'forbidden',
  'not-found',
  'conflict',
]);

/** Whether a handler's error sends its message to the dead-letter topic at once, without retries. */
export function isPermanentError(error: unknown): boolean {
  return error instanceof AppError && DEAD_LETTER_AT_ONCE.has(error.kind);
}

/** Whether a handler's error defers its message: handled again later, neither counted nor dead-lettered. */
export function isDeferredError(error: unknown): boolean {
  return error instanceof AppError && error.kind === 'deferred';
}
