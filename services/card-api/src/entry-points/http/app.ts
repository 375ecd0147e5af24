import { randomUUID } from 'node:crypto';

import { healthRoutes, type Logger, type ReadinessCheck } from '@cards/platform';
import express, { type Express } from 'express';

import { adminRoutes } from './admin.routes';
import { authenticate } from './auth';
import { cardsRoutes, type CardsRouteDeps } from './cards.routes';
import { docsRoutes } from './docs.routes';
import { problemHandler, routeNotFound } from './problem';

export interface AppDeps extends CardsRouteDeps {
  logger: Logger;
  readinessChecks: readonly ReadinessCheck[];
  authenticate: ReturnType<typeof authenticate>;
  bodyLimit: string;
}

/** Builds the express application; no I/O happens until a request arrives. */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.set('query parser', 'simple');
  app.use((req, res, next) => {
    const incoming = req.get('x-request-id');
    const requestId = incoming && /^[A-Za-z0-9._-]{1,128}$/.test(incoming) ? incoming : randomUUID();
    res.locals['requestId'] = requestId;
    res.set('X-Request-Id', requestId);
    next();
  });
  app.use(healthRoutes(deps.readinessChecks));
  app.use(docsRoutes());
  app.use(express.json({ limit: deps.bodyLimit, type: 'application/json', strict: true }));
  app.use('/v1', deps.authenticate);
  app.use(cardsRoutes(deps));
  app.use(adminRoutes(deps));
  app.use(routeNotFound);
  app.use(problemHandler(deps.logger));
  return app;
}
