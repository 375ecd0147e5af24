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
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Why a card ended FAILED (DESIGN.md, Card lifecycle). */
export const FailureCode = {
  PROVIDER_REJECTED: 'PROVIDER_REJECTED',
  PROVIDER_UNAVAILABLE: 'PROVIDER_UNAVAILABLE',
  PROVIDER_CONTRACT_VIOLATION: 'PROVIDER_CONTRACT_VIOLATION',
  TIMED_OUT: 'TIMED_OUT',
} as const;

export type FailureCode = (typeof FailureCode)[keyof typeof FailureCode];
