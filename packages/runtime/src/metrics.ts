import { MetricCatalogue } from '@cards/contracts';
import express, { Router, type RequestHandler } from 'express';
import type { Logger } from 'pino';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

import { healthRoutes, type ReadinessCheck } from './health';
import { listen, type ListeningServer } from './http-server';
import { withTimeout } from './timeouts';

export type { Registry } from 'prom-client';

type Catalogue = typeof MetricCatalogue;
/** A key of MetricCatalogue: metrics are created by key, so a name, help text or label set is never retyped. */
export type MetricKey = keyof Catalogue;
type KeyOfType<Type extends string> = {
  [Key in MetricKey]: Catalogue[Key]['type'] extends Type ? Key : never;
}[MetricKey];
/** The label names a catalogued metric has. */
export type MetricLabel<Key extends MetricKey> = Catalogue[Key]['labels'][number];

/** Where Prometheus scrapes every process. */
export const METRICS_PATH = '/metrics';

/**
 * Buckets are the code's choice, not the catalogue's: they follow what each duration can be. HTTP reaches 30 s
 * (long-polls); a saga runs to its deadline (120 s by default) and beyond when the reaper is behind.
 */
const BUCKETS: Record<KeyOfType<'histogram'>, number[]> = {
  httpRequestDuration: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  sagaDuration: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900],
  outboxPublishDuration: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  providerRequestDuration: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
};

/** A registry of the process's own, with prom-client's default process metrics (CPU, memory, event loop, GC). */
export function createMetricsRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}

function catalogueEntry<Key extends MetricKey>(
  key: Key,
): { name: string; help: string; labelNames: readonly MetricLabel<Key>[] } {
  const entry = MetricCatalogue[key];
  return { name: entry.name, help: entry.help, labelNames: entry.labels };
}

/** Registers a catalogued counter. */
export function catalogueCounter<Key extends KeyOfType<'counter'>>(
  registry: Registry,
  key: Key,
): Counter<MetricLabel<Key>> {
  return new Counter({ ...catalogueEntry(key), registers: [registry] });
}

/** Registers a catalogued gauge; `collect` (which may be async) refreshes it at scrape time. */
export function catalogueGauge<Key extends KeyOfType<'gauge'>>(
  registry: Registry,
  key: Key,
  collect?: (this: Gauge<MetricLabel<Key>>) => void | Promise<void>,
): Gauge<MetricLabel<Key>> {
  return new Gauge({ ...catalogueEntry(key), registers: [registry], ...(collect && { collect }) });
}

/** Registers a catalogued histogram, in seconds. */
export function catalogueHistogram<Key extends KeyOfType<'histogram'>>(
  registry: Registry,
  key: Key,
): Histogram<MetricLabel<Key>> {
  return new Histogram({ ...catalogueEntry(key), buckets: BUCKETS[key], registers: [registry] });
}

/**
 * A collect function for a value read at scrape time (a database count, Kafka offsets). The read is bounded by
 * `timeoutMs` and never throws: a scrape must answer even while a dependency is down, so a failed read is logged
 * and the metric keeps its last values. Scrapes that overlap share one read.
 */
export function scrapeTimeRead<T>(options: {
  what: string;
  timeoutMs: number;
  logger: Logger;
  read: () => Promise<T>;
  apply: (value: T) => void;
}): () => Promise<void> {
  let inFlight: Promise<T> | undefined;
  return async () => {
    inFlight ??= options.read().finally(() => {
      inFlight = undefined;
    });
    try {
      options.apply(await withTimeout(inFlight, options.timeoutMs));
    } catch (error) {
      options.logger.warn(
        { err: error, metric: options.what },
        'metric not refreshed; keeping its last value',
      );
    }
  };
}

/** GET /metrics: the registry in Prometheus text format. */
export function metricsRoute(registry: Registry): Router {
  const router = Router();
  router.get(METRICS_PATH, async (_req, res) => {
    const body = await registry.metrics();
    res.set('Content-Type', registry.contentType).set('Cache-Control', 'no-store').send(body);
  });
  return router;
}

/** The status_code of a request whose client went away before the answer was sent (nginx's convention). */
const CLIENT_CLOSED_REQUEST = '499';

/** A route's path as registered (a string, a list of them, or a pattern), joined to its router's mount point. */
function template(baseUrl: string, path: unknown): string {
  const own = Array.isArray(path) ? path.map(String).join('|') : String(path);
  return own === '/' && baseUrl !== '' ? baseUrl : `${baseUrl}${own}`;
}

/**
 * Times every request into `http_request_duration_seconds{method,route,status_code}`. The route is the matched
 * template (`/v1/cards/:id`), never the URL, so ids do not become label values; a request no route matched (a
 * 404, or one a middleware answered first, such as a 401) is `unmatched`. Mount it before the routes. /metrics
 * itself is not counted.
 */
export function httpMetrics(registry: Registry): RequestHandler {
  const histogram = catalogueHistogram(registry, 'httpRequestDuration');
  return (req, res, next) => {
    if (req.path === METRICS_PATH) {
      next();
      return;
    }
    const started = process.hrtime.bigint();
    // Read when express matches a route, not when the answer is done: by then a router that passed an error on
    // has restored req.baseUrl, and `/v1/cards/:id` would read `/cards/:id`.
    let route = 'unmatched';
    let matched: unknown = undefined;
    Object.defineProperty(req, 'route', {
      configurable: true,
      enumerable: true,
      get: () => matched,
      set: (value: unknown) => {
        matched = value;
        const path: unknown = (value as { path?: unknown } | undefined)?.path;
        if (path !== undefined) {
          route = template(req.baseUrl, path);
        }
      },
    });
    let recorded = false;
    const record = (): void => {
      if (recorded) {
        return;
      }
      recorded = true;
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const status = res.writableFinished ? String(res.statusCode) : CLIENT_CLOSED_REQUEST;
      histogram.observe({ method: req.method, route, status_code: status }, seconds);
    };
    res.once('finish', record);
    res.once('close', record);
    next();
  };
}

/**
 * The small HTTP server of a process that has none of its own (the relay, consumers): /healthz, /readyz and
 * /metrics, nothing else. Port 0 picks a free one (tests).
 */
export async function startOpsServer(options: {
  host: string;
  port: number;
  registry: Registry;
  readinessChecks: readonly ReadinessCheck[];
  logger: Logger;
}): Promise<ListeningServer> {
  const app = express();
  app.disable('x-powered-by');
  app.use(healthRoutes(options.readinessChecks));
  app.use(metricsRoute(options.registry));
  const server = await listen(app, options.port, options.host);
  options.logger.info({ url: server.url }, 'ops server listening: /healthz, /readyz, /metrics');
  return server;
}
