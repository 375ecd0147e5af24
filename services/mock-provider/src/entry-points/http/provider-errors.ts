import type { Logger } from '@cards/runtime';
import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import type { ZodError } from 'zod';

/**
 * The `error` slugs the provider answers with (ProviderErrorSchema). A caller keys on them, so they are never
 * renamed; the `message` is for people.
 */
export const ProviderErrorCode = {
  INVALID_REQUEST: 'invalid_request',
  MISSING_IDEMPOTENCY_KEY: 'missing_idempotency_key',
  INVALID_IDEMPOTENCY_KEY: 'invalid_idempotency_key',
  IDEMPOTENCY_KEY_REUSED: 'idempotency_key_reused',
  CARD_REJECTED: 'card_rejected',
  CARD_NOT_FOUND: 'card_not_found',
  MALFORMED_JSON: 'malformed_json',
  PAYLOAD_TOO_LARGE: 'payload_too_large',
  ROUTE_NOT_FOUND: 'route_not_found',
  SERVICE_UNAVAILABLE: 'service_unavailable',
  INTERNAL_ERROR: 'internal_error',
} as const;

export type ProviderErrorCode = (typeof ProviderErrorCode)[keyof typeof ProviderErrorCode];

/** Writes a ProviderError answer (`{ error, message }`), the only error shape the provider's contract allows. */
export function sendProviderError(
  res: Response,
  status: number,
  error: ProviderErrorCode,
  message: string,
): void {
  res.status(status).json({ error, message });
}

/** One line naming each failing field, for the `message` of a 400. */
export function describeIssues(error: ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(body)'}: ${issue.message}`)
    .join('; ');
}

/** Answers a request that matched no route. */
export const routeNotFound: RequestHandler = (req, res) => {
  sendProviderError(res, 404, ProviderErrorCode.ROUTE_NOT_FOUND, `No route for ${req.method} ${req.path}`);
};

interface BodyParserError {
  type: string;
  status?: number;
}

function isBodyParserError(error: unknown): error is BodyParserError {
  return typeof error === 'object' && error !== null && typeof (error as BodyParserError).type === 'string';
}

/**
 * Maps every error to a ProviderError. Body-parser failures are the caller's (4xx); anything else is a 500 whose
 * message says nothing about internals, logged so an operator can find it.
 */
export function providerErrorHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, next) => {
    if (res.headersSent) {
      next(error);
      return;
    }
    if (isBodyParserError(error)) {
      if (error.type === 'entity.parse.failed') {
        sendProviderError(res, 400, ProviderErrorCode.MALFORMED_JSON, 'The request body is not valid JSON.');
        return;
      }
      if (error.type === 'entity.too.large') {
        sendProviderError(res, 413, ProviderErrorCode.PAYLOAD_TOO_LARGE, 'The request body is too large.');
        return;
      }
      if (error.status !== undefined && error.status >= 400 && error.status < 500) {
        sendProviderError(
          res,
          error.status,
          ProviderErrorCode.INVALID_REQUEST,
          'The request body is unreadable.',
        );
        return;
      }
    }
    logger.error({ err: error, method: req.method, path: req.path }, 'unexpected error');
    sendProviderError(res, 500, ProviderErrorCode.INTERNAL_ERROR, 'An unexpected error occurred.');
  };
}
