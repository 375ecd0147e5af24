/**
 * Stable machine-readable error codes. Clients and operators key on these, so a code is never renamed or reused;
 * add a new one instead.
 */
export const ErrorCode = {
  VALIDATION_FAILED: 'VALIDATION_FAILED',
  MALFORMED_JSON: 'MALFORMED_JSON',
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  NOT_FOUND: 'NOT_FOUND',
  ROUTE_NOT_FOUND: 'ROUTE_NOT_FOUND',
  METHOD_NOT_ALLOWED: 'METHOD_NOT_ALLOWED',
  NOT_READY: 'NOT_READY',
  INTERNAL: 'INTERNAL',
  CARD_NOT_FOUND: 'CARD_NOT_FOUND',
  CARD_LIMIT_REACHED: 'CARD_LIMIT_REACHED',
  USER_ALREADY_EXISTS: 'USER_ALREADY_EXISTS',
  PRECONDITION_FAILED: 'PRECONDITION_FAILED',
  IDEMPOTENCY_KEY_INVALID: 'IDEMPOTENCY_KEY_INVALID',
  IDEMPOTENCY_KEY_REUSED: 'IDEMPOTENCY_KEY_REUSED',
  IDEMPOTENCY_REQUEST_IN_PROGRESS: 'IDEMPOTENCY_REQUEST_IN_PROGRESS',
  RATE_LIMITED: 'RATE_LIMITED',
  LONG_POLL_LIMIT_REACHED: 'LONG_POLL_LIMIT_REACHED',
  SERVICE_UNAVAILABLE: 'SERVICE_UNAVAILABLE',
  /** card-api is at its bound of in-flight requests or held long-polls: refused at once, retry after Retry-After. */
  OVERLOADED: 'OVERLOADED',
  DEAD_LETTER_NOT_FOUND: 'DEAD_LETTER_NOT_FOUND',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * Codes of the failures provider-worker names. They reach no HTTP client: an operator reads them in logs and in a
 * dead letter's reason. Stable like ErrorCode.
 */
export const WorkerErrorCode = {
  /** An event on the commands topic that is not a command this worker handles. */
  COMMAND_NOT_HANDLED: 'COMMAND_NOT_HANDLED',
  /** The provider refused a cancellation for a reason no retry changes. */
  CANCEL_REFUSED: 'CANCEL_REFUSED',
  /** The provider could not be reached or failed on its side. */
  PROVIDER_UNAVAILABLE: 'PROVIDER_UNAVAILABLE',
  /** A 2xx answer that breaks the provider's contract. */
  PROVIDER_CONTRACT_VIOLATION: 'PROVIDER_CONTRACT_VIOLATION',
  /** The provider is believed down (its circuit is open) or the worker is stopping: the command waits. */
  RETRY_LATER: 'RETRY_LATER',
  /** The command's saga deadline passed before an attempt could start. */
  SAGA_DEADLINE_PASSED: 'SAGA_DEADLINE_PASSED',
} as const;

export type WorkerErrorCode = (typeof WorkerErrorCode)[keyof typeof WorkerErrorCode];

/** Why a card ended FAILED (DESIGN.md, Card lifecycle). */
export const FailureCode = {
  PROVIDER_REJECTED: 'PROVIDER_REJECTED',
  PROVIDER_UNAVAILABLE: 'PROVIDER_UNAVAILABLE',
  PROVIDER_CONTRACT_VIOLATION: 'PROVIDER_CONTRACT_VIOLATION',
  TIMED_OUT: 'TIMED_OUT',
} as const;

export type FailureCode = (typeof FailureCode)[keyof typeof FailureCode];
