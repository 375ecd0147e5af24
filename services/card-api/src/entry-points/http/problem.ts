import { AppError, ErrorCode, problemType, type ErrorKind, type Problem } from '@cards/contracts';
import { sendProblem, type Logger, type ProblemInput } from '@cards/runtime';
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { KnexTimeoutError } from 'knex';

/** The one place a kind of failure becomes an HTTP status. */
const statusByKind: Record<ErrorKind, number> = {
  malformed: 400,
  invalid: 422,
  unsupported: 415,
  unauthenticated: 401,
  forbidden: 403,
  'not-found': 404,
  conflict: 409,
  'rate-limited': 429,
  unavailable: 503,
  deferred: 503,
  internal: 500,
};

/** The problem an AppError is answered with, and its headers; undefined for any other error (a 500, or a library's). */
export function expectedProblem(
  error: unknown,
): { problem: ProblemInput; headers: Record<string, string> } | undefined {
  if (!(error instanceof AppError)) {
    return undefined;
  }
  return {
    problem: { status: statusByKind[error.kind], code: error.code, title: error.message, ...error.details },
    headers: error.retryAfterSeconds === undefined ? {} : { 'Retry-After': String(error.retryAfterSeconds) },
  };
}

/** The body `sendProblem` writes for `problem`, for callers that must keep a copy of it (idempotent replays). */
export function problemBody(problem: ProblemInput, requestId: unknown): Problem {
  const body: Problem = { type: problemType(problem.code), ...problem };
  if (typeof requestId === 'string') {
    body.requestId = requestId;
  }
  return body;
}

/** Answers a request that matched no route. */
export const routeNotFound: RequestHandler = (req, res) => {
  sendProblem(res, {
    status: 404,
    code: ErrorCode.ROUTE_NOT_FOUND,
    title: 'Not Found',
    detail: `No route for ${req.method} ${req.path}`,
  });
};

/** The status an http-errors error carries (the body parser's, the router's); undefined for any other error. */
function httpErrorStatus(error: unknown): number | undefined {
  const status =
    typeof error === 'object' && error !== null ? (error as { status?: unknown }).status : undefined;
  return typeof status === 'number' ? status : undefined;
}

/**
 * The problem for a request the libraries in front of our routes could not read: a path the router cannot
 * percent-decode, a body the parser refuses (not JSON, too large, a charset or Content-Encoding it does not take, a
 * compressed stream that is not one). They raise http-errors with a 4xx status: the client's fault, never our 500.
 * Undefined for anything else; our own errors carry a kind and never get here.
 */
function unreadableRequestProblem(error: unknown): ProblemInput | undefined {
  const status = httpErrorStatus(error);
  if (error instanceof URIError && status === 400) {
    // A path that is not valid percent-encoding names nothing we serve, like any other unknown path.
    return {
      status: 404,
      code: ErrorCode.ROUTE_NOT_FOUND,
      title: 'Not Found',
      detail: 'The request path is not valid percent-encoding.',
    };
  }
  switch (status) {
    case 400: {
      const notJson = (error as { type?: unknown }).type === 'entity.parse.failed';
      return {
        status: 400,
        code: ErrorCode.MALFORMED_JSON,
        title: 'Malformed JSON',
        detail: notJson ? 'The request body is not valid JSON.' : 'The request body could not be read.',
      };
    }
    case 413:
      return {
        status: 413,
        code: ErrorCode.PAYLOAD_TOO_LARGE,
        title: 'Payload Too Large',
        detail: 'The request body exceeds the size limit.',
      };
    case 415:
      return {
        status: 415,
        code: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
        title: 'Unsupported Media Type',
        detail: 'Send the body as UTF-8 application/json.',
      };
    default:
      return undefined;
  }
}

/** PostgreSQL codes of a statement cancelled by statement_timeout, a server shutting down, and no free connection. */
const DATABASE_BUSY_CODES = new Set(['57014', '57P01', '53300']);

/**
 * The database is saturated or unreachable: no pooled connection came free in time, or a statement ran past its
 * timeout. The request may well succeed later, so it is a 503 with Retry-After, not a 500.
 */
function isDatabaseBusy(error: unknown): boolean {
  if (error instanceof KnexTimeoutError) {
    return true;
  }
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' && (DATABASE_BUSY_CODES.has(code) || code === 'ECONNREFUSED');
}

/**
 * Maps every error to problem+json. Expected failures (AppError) keep their code and message; anything else is a
 * 500 whose body says nothing about internals, and is logged with the request id so an operator can find it.
 */
export function problemHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, next) => {
    if (res.headersSent) {
      next(error);
      return;
    }
    const expected = expectedProblem(error);
    if (expected) {
      sendProblem(res, expected.problem, expected.headers);
      return;
    }
    const unreadable = unreadableRequestProblem(error);
    if (unreadable) {
      sendProblem(res, unreadable);
      return;
    }
    if (isDatabaseBusy(error)) {
      logger.warn({ err: error, requestId: res.locals['requestId'], path: req.path }, 'database busy');
      sendProblem(
        res,
        {
          status: 503,
          code: ErrorCode.SERVICE_UNAVAILABLE,
          title: 'Service Unavailable',
          detail:
            'The service is overloaded or a dependency is unreachable; retry after Retry-After seconds.',
        },
        { 'Retry-After': '2' },
      );
      return;
    }
    logger.error({ err: error, requestId: res.locals['requestId'], path: req.path }, 'unexpected error');
    sendProblem(res, {
      status: 500,
      code: ErrorCode.INTERNAL,
      title: 'Internal Server Error',
      detail: 'An unexpected error occurred; quote the requestId when reporting it.',
    });
  };
}
