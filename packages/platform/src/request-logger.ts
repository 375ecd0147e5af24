import type { IncomingMessage, ServerResponse } from 'node:http';

import { pinoHttp, type HttpLogger } from 'pino-http';
import type { Logger } from 'pino';

import { redactForLog } from './logger';

/** The path as the client sent it, without the query; inside a mounted router express rewrites `url`, not this. */
function pathOf(req: IncomingMessage): string {
  const url = (req as IncomingMessage & { originalUrl?: string }).originalUrl ?? req.url ?? '';
  return url.split('?')[0] ?? '';
}

/** Probes answer every few seconds; logging each would bury the requests that matter. */
const QUIET_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * One access-log line per HTTP request, when its answer is done: method, path, status, duration, the request id the
 * response carries (set it before this runs), and the headers, through the process logger, which redacts
 * Authorization, cookies and anything secret. 5xx are errors, 4xx warnings, the rest info.
 */
export function requestLogger(logger: Logger): HttpLogger {
  return pinoHttp({
    logger,
    genReqId: (req: IncomingMessage, res: ServerResponse) => {
      const id = res.getHeader('x-request-id');
      return typeof id === 'string' ? id : (req.headers['x-request-id'] ?? 'unknown');
    },
    serializers: {
      // The path without the query: a query string is whatever a client typed, and may hold what must not be logged.
      req: (req: {
        id: unknown;
        method: string;
        url: string;
        headers: unknown;
        remoteAddress: unknown;
        raw?: IncomingMessage;
      }) => ({
        id: req.id,
        method: req.method,
        path: req.raw ? pathOf(req.raw) : req.url.split('?')[0],
        // Serializers run after the logger's redaction walk, so the headers are walked here.
        headers: redactForLog(req.headers),
        remoteAddress: req.remoteAddress,
      }),
    },
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
      `${req.method ?? ''} ${pathOf(req)} ${res.statusCode} ${Math.round(responseTime)} ms`,
    customErrorMessage: (req, res) => `${req.method ?? ''} ${pathOf(req)} ${res.statusCode}`,
  });
}
