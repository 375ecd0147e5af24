import { AppError, WorkerErrorCode, type ErrorKind } from '@cards/contracts';

/*
 * The worker's failures are AppErrors like every service's: a code an operator reads in a dead letter's reason and
 * the logs, and a kind from which the Kafka port decides, in one place (packages/messaging/src/error-policy.ts),
 * whether a command is dead-lettered at once, retried, or handed over again later.
 */

/**
 * A command no retry can fix (a type this worker does not handle, a provider that refuses a cancellation): dead-
 * lettered at once instead of retried.
 */
export class PermanentCommandError extends AppError {
  constructor(options: {
    code: WorkerErrorCode;
    message: string;
    /** `invalid` for the command itself; `conflict` when the provider's state refuses it. */
    kind?: Extract<ErrorKind, 'invalid' | 'conflict'>;
    cause?: unknown;
  }) {
    super({ kind: options.kind ?? 'invalid', ...options });
    this.name = 'PermanentCommandError';
  }
}

/** The provider could not be reached or failed on its side; another attempt may succeed. */
export class ProviderUnavailableError extends AppError {
  constructor(message: string, code: WorkerErrorCode = WorkerErrorCode.PROVIDER_UNAVAILABLE) {
    super({ code, kind: 'unavailable', message });
    this.name = 'ProviderUnavailableError';
  }
}

/**
 * A 2xx answer that breaks the provider's contract (a malformed body, a cancel that does not say CANCELLED). Asked
 * again like an unavailable provider: the idempotency key makes a repeated create return the card the first one
 * made, and a repeated cancel is harmless; a provider that lies once often answers the next call right.
 */
export class ProviderAnswerInvalidError extends ProviderUnavailableError {
  constructor(message: string) {
    super(message, WorkerErrorCode.PROVIDER_CONTRACT_VIOLATION);
    this.name = 'ProviderAnswerInvalidError';
  }
}

/**
 * Whether a failure says the provider is unavailable, which is what the circuit breaker counts. A broken answer is
 * worth another attempt but proves the provider up: a provider answering garbage fails its cards with the true
 * reason (PROVIDER_CONTRACT_VIOLATION) instead of pausing every card until its deadline.
 */
export function isUnavailability(error: unknown): boolean {
  return isTransient(error) && !(error instanceof ProviderAnswerInvalidError);
}

/** Whether a failure is worth another attempt; the retry policy retries these and nothing else. */
export function isTransient(error: unknown): error is ProviderUnavailableError {
  return error instanceof ProviderUnavailableError;
}

/**
 * Not now, and not the command's fault: the provider is believed down (its circuit is open) or the worker is
 * stopping. The command is neither failed nor charged an attempt; the Kafka edge leaves it uncommitted and hands
 * it over again later (after the circuit half-opens, or to the next owner of its partition).
 */
export class RetryLaterError extends AppError {
  constructor(message: string, options?: { cause?: unknown }) {
    super({ code: WorkerErrorCode.RETRY_LATER, kind: 'deferred', message, cause: options?.cause });
    this.name = 'RetryLaterError';
  }
}

/**
 * The command's saga deadline passed before an attempt could start: no provider call is made any more (card-api
 * fails the card TIMED_OUT at the deadline; a provider card made now would only be compensated).
 */
export class CommandExpiredError extends AppError {
  constructor(message = 'the saga deadline passed') {
    super({ code: WorkerErrorCode.SAGA_DEADLINE_PASSED, kind: 'conflict', message });
    this.name = 'CommandExpiredError';
  }
}
