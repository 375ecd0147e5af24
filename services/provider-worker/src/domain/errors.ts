/**
 * A command no retry can fix (a type this worker does not handle, a provider that refuses a cancellation): the
 * Kafka edge sends it straight to the dead-letter topic instead of retrying it.
 */
export class PermanentCommandError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PermanentCommandError';
  }
}

/** The provider could not be reached or failed on its side; another attempt may succeed. */
export class ProviderUnavailableError extends Error {
  constructor(message: string) {
    super(message);
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
    super(message);
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
export class RetryLaterError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RetryLaterError';
  }
}

/**
 * The command's saga deadline passed before an attempt could start: no provider call is made any more (card-api
 * fails the card TIMED_OUT at the deadline; a provider card made now would only be compensated).
 */
export class CommandExpiredError extends Error {
  constructor(message = 'the saga deadline passed') {
    super(message);
    this.name = 'CommandExpiredError';
  }
}
