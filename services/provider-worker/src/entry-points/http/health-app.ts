import { healthRoutes, type ReadinessCheck } from '@cards/platform';
import express, { type Express } from 'express';

/** The worker's HTTP surface: /healthz (alive) and /readyz (its dependencies answer). */
export function createHealthApp(checks: readonly ReadinessCheck[]): Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(healthRoutes(checks));
  return app;
}
