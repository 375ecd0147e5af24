import { randomUUID } from 'node:crypto';

import { healthRoutes, type Logger, type ReadinessCheck } from '@cards/platform';
import express, { type Express } from 'express';

import { problemHandler, routeNotFound } from './problem';

/** Builds the express application; no I/O happens until a request arrives, so tests can build it cheaply. */
export function createApp(deps: { logger: Logger; readinessChecks: readonly ReadinessCheck[] }): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.use((req, res, next) => {
    const incoming = req.get('x-request-id');
    const requestId = incoming && /^[A-Za-z0-9._-]{1,128}$/.test(incoming) ? incoming : randomUUID();
    res.locals['requestId'] = requestId;
    res.set('X-Request-Id', requestId);
    next();
  });
  app.use(healthRoutes(deps.readinessChecks));
  app.use(routeNotFound);
  app.use(problemHandler(deps.logger));
  return app;
}
