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
  USER_NOT_FOUND: 'USER_NOT_FOUND',
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
 * What each code means and what a client does about it: the page its problem `type` URI serves
 * (`/problems/<code in kebab case>`).
 */
export const ErrorCodeHelp: Record<ErrorCode, string> = {
  VALIDATION_FAILED:
    'The request breaks the schema; `errors` lists each failing field. Fix the request; retrying it as it is fails again.',
  MALFORMED_JSON: 'The body is not valid JSON (or could not be read). Send UTF-8 JSON.',
  UNSUPPORTED_MEDIA_TYPE: 'The body is not application/json. Send it with Content-Type: application/json.',
  PAYLOAD_TOO_LARGE:
    'The body exceeds the size limit. Card requests are a few bytes; something else was sent.',
  UNAUTHENTICATED:
    'The bearer token is missing, malformed, expired or not signed by a key this API trusts. Get a new token.',
  FORBIDDEN: 'The token names no known user, or the route needs the admin role.',
  NOT_FOUND: 'Nothing is there.',
  ROUTE_NOT_FOUND: 'No route for this method and path. See /openapi.json for the routes.',
  METHOD_NOT_ALLOWED: 'The path exists, but not with this method.',
  NOT_READY:
    'A dependency of this process (the database, Kafka) does not answer; `checks` says which. Retry later.',
  INTERNAL: 'An unexpected error. Nothing about it is disclosed; quote the requestId when reporting it.',
  CARD_NOT_FOUND: 'No card of yours has this id. Cards of other users are not found either, by design.',
  CARD_LIMIT_REACHED: 'You hold the most cards allowed that are not FAILED. Nothing was created.',
  USER_ALREADY_EXISTS: 'A user with this externalId exists already; it was left unchanged.',
  USER_NOT_FOUND: 'No user has this externalId.',
  PRECONDITION_FAILED: 'A precondition of the request (If-Match, say) does not hold.',
  IDEMPOTENCY_KEY_INVALID: 'Send one Idempotency-Key header of 1 to 255 printable ASCII characters.',
  IDEMPOTENCY_KEY_REUSED:
    'This Idempotency-Key was used for a different request. Use a new key for a new request.',
  IDEMPOTENCY_REQUEST_IN_PROGRESS:
    'The first request with this Idempotency-Key is still running. Retry after Retry-After seconds for its answer.',
  RATE_LIMITED: 'Too many requests in the window. Retry after Retry-After seconds.',
  LONG_POLL_LIMIT_REACHED:
    'You hold the most open long-polls allowed. Poll without Prefer: wait, or retry after Retry-After seconds.',
  SERVICE_UNAVAILABLE:
    'The database or Kafka is saturated or unreachable, or the token keys could not be fetched. Retry after Retry-After seconds.',
  OVERLOADED:
    'This instance is at its bound of requests or held long-polls and refused at once, having done nothing. Retry after Retry-After seconds.',
  DEAD_LETTER_NOT_FOUND:
    'No dead letter on that topic matches the selection (event id, or partition and offset).',
};

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
