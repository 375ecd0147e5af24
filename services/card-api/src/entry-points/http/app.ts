import { randomUUID } from 'node:crypto';

import {
  healthRoutes,
  httpMetrics,
  metricsRoute,
  requestLogger,
  startSpan,
  type Logger,
  type ReadinessCheck,
  type Registry,
} from '@cards/runtime';
import cors from 'cors';
import express, { type Express } from 'express';
import helmet from 'helmet';

import { adminNoCache, adminRoutes, type AdminDeps } from './admin.routes';
import { authenticate } from './auth';
import { cardsRoutes, type CardsRouteDeps } from './cards.routes';
import { consoleRoutes } from './console.routes';
import { docsRoutes } from './docs.routes';
import { problemHandler, routeNotFound } from './problem';

export interface AppDeps extends CardsRouteDeps {
  logger: Logger;
  /** The process's metrics: every request is timed into it, and GET /metrics serves it. */
  metrics: Registry;
  readinessChecks: readonly ReadinessCheck[];
  authenticate: ReturnType<typeof authenticate>;
  bodyLimit: string;
  /** Browser origins allowed by CORS; empty closes the API to every browser origin. */
  corsAllowedOrigins: readonly string[];
  /** Proxy hops whose X-Forwarded-For is believed for the client address (rate limits key on it). */
  trustProxyHops: number;
  /** The operator routes' Kafka, topics and thresholds. */
  admin: AdminDeps;
}

/** Headers a browser client may send and read, when its origin is allowed. */
const corsHeaders = {
  allowed: [
    'Authorization',
    'Content-Type',
    'Idempotency-Key',
    'Prefer',
    'If-None-Match',
    'X-Request-Id',
    'traceparent',
  ],
  exposed: ['Location', 'Retry-After', 'ETag', 'X-Request-Id', 'Preference-Applied', 'Idempotent-Replayed'],
};

/** Builds the express application; no I/O happens until a request arrives. */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', deps.trustProxyHops > 0 ? deps.trustProxyHops : false);
  app.set('query parser', 'simple');
  // First, so a request's time includes every middleware, and one refused by any of them is counted too.
  app.use(httpMetrics(deps.metrics));
  // helmet's defaults suit an API and the docs page alike (a strict CSP, nosniff, no framing, HSTS).
  app.use(helmet());
  // With no allowed origin, cors would only look at every request and do nothing: it is not mounted at all.
  if (deps.corsAllowedOrigins.length > 0) {
    app.use(
      cors({
        origin: [...deps.corsAllowedOrigins],
        allowedHeaders: corsHeaders.allowed,
        exposedHeaders: corsHeaders.exposed,
        maxAge: 600,
      }),
    );
  }
  // Before any parsing, authentication or logging, so a refusal under overload costs next to nothing; after the
  // metrics (refusals are counted) and helmet (they carry the security headers like any answer).
  app.use(deps.admission.admit);
  app.use((req, res, next) => {
    const incoming = req.get('x-request-id');
    const requestId = incoming && /^[A-Za-z0-9._-]{1,128}$/.test(incoming) ? incoming : randomUUID();
    res.locals['requestId'] = requestId;
    res.set('X-Request-Id', requestId);
    // The request's span continues the caller's trace (W3C traceparent) or starts one; the card's events carry it.
    const span = startSpan(`${req.method} request`, req.get('traceparent'));
    res.locals['traceparent'] = span.traceparent;
    res.locals['traceId'] = span.traceId;
    res.on('close', () => {
      span.end();
    });
    next();
  });
  app.use(requestLogger(deps.logger));
  app.use(healthRoutes(deps.readinessChecks));
  app.use(metricsRoute(deps.metrics));
  app.use(docsRoutes());
  app.use(express.json({ limit: deps.bodyLimit, type: 'application/json', strict: true }));
  app.use(consoleRoutes());
  // Before authentication, so a refused admin request is not cached either.
  app.use('/v1/admin', adminNoCache);
  app.use('/v1', deps.authenticate);
  app.use(cardsRoutes(deps));
  app.use(adminRoutes(deps));
  app.use(routeNotFound);
  app.use(problemHandler(deps.logger));
  return app;
}
