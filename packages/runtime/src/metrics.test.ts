import { histogramCount, parseExposition, samplesOf } from '@cards/test-support';
import express, { Router } from 'express';

import { listen } from './http-server';
import { createLogger } from './logger';
import { createMetricsRegistry, httpMetrics, metricsRoute, scrapeTimeRead } from './metrics';

const logger = createLogger({ service: 'test', level: 'silent' });

describe('httpMetrics', () => {
  it('when requests are answered, then each is counted under its route template, never its URL', async () => {
    const registry = createMetricsRegistry();
    const app = express();
    app.use(httpMetrics(registry));
    app.use(metricsRoute(registry));
    const v1 = Router();
    v1.get('/cards/:id', (_req, res) => {
      res.status(200).json({});
    });
    v1.get('/broken/:id', () => {
      throw new Error('boom');
    });
    app.use('/v1', v1);
    app.get('/', (_req, res) => {
      res.send('root');
    });
    app.use((_req, res) => {
      res.status(404).end();
    });
    app.use((_error: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      res.status(500).end();
    });
    const server = await listen(app, 0, '127.0.0.1');
    try {
      await fetch(`${server.url}/v1/cards/1234`);
      await fetch(`${server.url}/v1/cards/5678`);
      await fetch(`${server.url}/v1/broken/42`);
      await fetch(`${server.url}/`);
      await fetch(`${server.url}/no/such/path/99`);
      await fetch(`${server.url}/metrics`);
      const exposition = parseExposition(await (await fetch(`${server.url}/metrics`)).text());

      const name = 'http_request_duration_seconds';
      expect(
        histogramCount(exposition, name, { method: 'GET', route: '/v1/cards/:id', status_code: '200' }),
      ).toBe(2);
      // The error went back out of the router before it was answered; the template is still the matched route's.
      expect(histogramCount(exposition, name, { route: '/v1/broken/:id', status_code: '500' })).toBe(1);
      expect(histogramCount(exposition, name, { route: '/', status_code: '200' })).toBe(1);
      expect(histogramCount(exposition, name, { route: 'unmatched', status_code: '404' })).toBe(1);
      const routes = new Set(samplesOf(exposition, `${name}_count`).map((sample) => sample.labels['route']));
      expect([...routes].sort()).toEqual(['/', '/v1/broken/:id', '/v1/cards/:id', 'unmatched']);
    } finally {
      await server.close();
    }
  });
});

describe('scrapeTimeRead', () => {
  it('when a read outlasts the timeout, then the scrape returns without it, and overlapping scrapes share one read', async () => {
    let reads = 0;
    let applied: number | undefined;
    let finishSlowRead = (): void => undefined;
    const refresh = scrapeTimeRead({
      what: 'slow',
      timeoutMs: 50,
      logger,
      read: () => {
        reads++;
        if (reads > 1) {
          return Promise.resolve(9);
        }
        return new Promise<number>((resolve) => {
          finishSlowRead = () => {
            resolve(7);
          };
        });
      },
      apply: (value) => {
        applied = value;
      },
    });

    await Promise.all([refresh(), refresh()]);
    expect(reads).toBe(1);
    expect(applied).toBeUndefined();

    finishSlowRead();
    await new Promise((resolve) => setImmediate(resolve));
    await refresh();
    expect(reads).toBe(2);
    expect(applied).toBe(9);
  });
});
