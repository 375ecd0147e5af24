import type { IncomingMessage, ServerResponse } from 'node:http';

import { pinoHttp, type HttpLogger } from 'pino-http';
import type { Logger } from 'pino';

import { maskUrlCredentials, REDACTED } from './logger';

/** The path as the client sent it, without the query; inside a mounted router express rewrites `url`, not this. */
function pathOf(req: IncomingMessage): string {
  const url = (req as IncomingMessage & { originalUrl?: string }).originalUrl ?? req.url ?? '';
  return url.split('?')[0] ?? '';
}

/** Probes answer every few seconds; logging each would bury the requests that matter. */
const QUIET_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * The request headers an access-log line shows: what helps to tell clients and requests apart. Any other header is
 * left out rather than judged (a client may put anything in a header of its own, a card number included).
 */
const LOGGED_HEADERS = [
  'host',
  'user-agent',
  'content-type',
  'content-length',
  'accept',
  'origin',
  'prefer',
  'if-none-match',
  'x-request-id',
  'x-forwarded-for',
  'traceparent',
] as const;

/** Credentials: a line says whether the request carried one, never what it was. */
const CREDENTIAL_HEADERS = ['authorization', 'proxy-authorization', 'cookie'] as const;

/** The allowlisted headers of a request, URL passwords masked, and the credential headers it carried as `[redacted]`. */
export function loggedHeaders(headers: IncomingMessage['headers']): Record<string, string | string[]> {
  const logged: Record<string, string | string[]> = {};
  for (const name of LOGGED_HEADERS) {
    const value = headers[name];
    if (value !== undefined) {
      logged[name] = typeof value === 'string' ? maskUrlCredentials(value) : value.map(maskUrlCredentials);
    }
  }
  for (const name of CREDENTIAL_HEADERS) {
    if (headers[name] !== undefined) {
      logged[name] = REDACTED;
    }
  }
  return logged;
}

/**
 * One access-log line per HTTP request, when its answer is done: method, path, status, duration, the request id the
 * response carries (set it before this runs), and the request's allowlisted headers (`loggedHeaders`). 5xx are
 * errors, 4xx warnings, the rest info.
 *
 * Everything the line holds is built here as plain, already-redacted data, so the process logger's redaction walk
 * has little to do: the request is serialized once, into the child logger's bindings (which that walk never sees),
 * and the response is logged as its status code, not as the ServerResponse (walking one costs more than the rest
 * of the line together).
 */
export function requestLogger(logger: Logger): HttpLogger {
  return pinoHttp({
    logger,
    genReqId: (req: IncomingMessage, res: ServerResponse) => {
      const id = res.getHeader('x-request-id');
      return typeof id === 'string' ? id : (req.headers['x-request-id'] ?? 'unknown');
    },
    // The serializers below take the raw request; pino-http's wrappers would first copy it field by field.
    wrapSerializers: false,
    serializers: {
      // The path without the query: a query string is whatever a client typed, and may hold what must not be logged.
      req: (req: IncomingMessage & { id?: unknown }) => ({
        id: req.id,
        method: req.method,
        path: pathOf(req),
        headers: loggedHeaders(req.headers),
        remoteAddress: req.socket.remoteAddress,
      }),
    },
    customSuccessObject: (_req, res, logged: { responseTime?: unknown }) => ({
      // A response never finished (the client went away first) has no status: statusCode would say 200.
      res: { statusCode: res.writableEnded ? res.statusCode : null },
      responseTime: logged.responseTime,
    }),
    customErrorObject: (_req, res, error, logged: { responseTime?: unknown }) => ({
      res: { statusCode: res.statusCode },
      err: error,
      responseTime: logged.responseTime,
    }),
    // The trace id of the request's span, when the app set one (res.locals is express's).
    customProps: (_req, res) => {
      const traceId = (res as ServerResponse & { locals?: Record<string, unknown> }).locals?.['traceId'];
      return typeof traceId === 'string' ? { traceId } : {};
    },
    autoLogging: { ignore: (req) => QUIET_PATHS.has(pathOf(req)) },
    customLogLevel: (_req, res, error) => {
      if (error || res.statusCode >= 500) {
        return 'error';
      }
      return res.statusCode >= 400 ? 'warn' : 'info';
    },
    customSuccessMessage: (req, res, responseTime) =>
      `${req.method ?? ''} ${pathOf(req)} ${res.writableEnded ? res.statusCode : 'aborted by the client after'} ${Math.round(responseTime)} ms`,
    customErrorMessage: (req, res) => `${req.method ?? ''} ${pathOf(req)} ${res.statusCode}`,
  });
}
