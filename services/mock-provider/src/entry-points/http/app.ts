import {
  healthRoutes,
  httpMetrics,
  metricsRoute,
  requestLogger,
  type Logger,
  type ReadinessCheck,
  type Registry,
} from '@cards/runtime';
import express, { type Express } from 'express';

import type { ProviderCardStore } from '../../domain/card-issuing';
import type { FaultSettings, Random } from '../../domain/faults';
import { cardsRoutes } from './cards.routes';
import { controlRoutes, type ProviderStats } from './control.routes';
import { faultInjection } from './fault-injection.middleware';
import { providerErrorHandler, routeNotFound } from './provider-errors';

/** Builds the express application; no I/O happens until a request arrives, so tests can build it cheaply. */
export function createApp(deps: {
  logger: Logger;
  store: ProviderCardStore;
  faults: FaultSettings;
  random: Random;
  hangMs: number;
  stats: ProviderStats;
  shutdown: AbortSignal;
  readinessChecks: readonly ReadinessCheck[];
  /** Every request is timed into it; GET /metrics serves it. */
  metrics: Registry;
}): Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(httpMetrics(deps.metrics));
  // One line per call, under the caller's X-Request-Id: the provider's side of a card's saga, found by the same grep.
  app.use(requestLogger(deps.logger));
  app.use(healthRoutes(deps.readinessChecks));
  app.use(metricsRoute(deps.metrics));
  app.use('/control', controlRoutes({ faults: deps.faults, stats: deps.stats }));
  // Faults come before the body is read: an outage answers 503 even to a request it could not have parsed.
  app.use(
    '/v1',
    faultInjection({
      faults: deps.faults,
      random: deps.random,
      hangMs: deps.hangMs,
      stats: deps.stats,
      shutdown: deps.shutdown,
      logger: deps.logger,
    }),
    express.json({ limit: '16kb' }),
    cardsRoutes({ store: deps.store, stats: deps.stats }),
  );
  app.use(routeNotFound);
  app.use(providerErrorHandler(deps.logger));
  return app;
}
