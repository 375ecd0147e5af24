import { healthRoutes, metricsRoute, type ReadinessCheck, type Registry } from '@cards/runtime';
import express, { type Express } from 'express';

/** The worker's HTTP surface: /healthz (alive), /readyz (its dependencies answer) and /metrics. */
export function createHealthApp(checks: readonly ReadinessCheck[], metrics: Registry): Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(healthRoutes(checks));
  app.use(metricsRoute(metrics));
  return app;
}
