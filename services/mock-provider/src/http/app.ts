import { healthRoutes, type Logger, type ReadinessCheck } from '@cards/platform';
import express, { type Express } from 'express';

import type { ProviderCardStore } from '../domain/card-issuing';
import type { FaultSettings, Random } from '../domain/faults';
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
}): Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(healthRoutes(deps.readinessChecks));
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
