import { ErrorCode } from '@cards/contracts';
import { Router } from 'express';

import { sendProblem } from './problem';

/** A dependency the process needs to do its work, checked by /readyz. */
export interface ReadinessCheck {
  name: string;
  check(): Promise<{ up: true } | { up: false; reason: string }>;
}

/**
 * `/healthz` says the process is alive (restart it if not); `/readyz` says it can serve (route traffic to it),
 * which needs every dependency. Checks run in parallel, so the answer takes as long as the slowest one.
 */
export function healthRoutes(checks: readonly ReadinessCheck[]): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const results = await Promise.all(
      checks.map(async (dependency) => ({ name: dependency.name, result: await dependency.check() })),
    );
    const status = Object.fromEntries(results.map(({ name, result }) => [name, result.up ? 'up' : 'down']));
    const down = results.flatMap(({ name, result }) => (result.up ? [] : [{ name, reason: result.reason }]));
    if (down.length === 0) {
      res.json({ status: 'ready', checks: status });
      return;
    }
    sendProblem(res, {
      status: 503,
      code: ErrorCode.NOT_READY,
      title: 'Service Unavailable',
      detail: `Unreachable: ${down.map(({ name }) => name).join(', ')}`,
      checks: status,
      failures: down,
    });
  });
  return router;
}
