import { EventEmitter } from 'node:events';

import type { AnyCardEvent } from '@cards/contracts';
import { histogramCount, metricValue, parseExposition, samplesOf } from '@cards/test-support';
import express, { Router } from 'express';
import type { Admin, Kafka } from 'kafkajs';

import { readConsumerLag, type ConsumerSignals, type DeliveryContext } from './kafka';
import { listen } from './http-server';
import { createLogger } from './logger';
import { createMetricsRegistry, httpMetrics, consumerMetrics, metricsRoute, scrapeTimeRead } from './metrics';

const logger = createLogger({ service: 'test', level: 'silent' });

async function scrape(registry: ReturnType<typeof createMetricsRegistry>) {
  return parseExposition(await registry.metrics());
}

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

function context(topic: string): DeliveryContext {
  return { topic, partition: 0, offset: '0', attempt: 1, signal: new AbortController().signal };
}

/** A kafkajs stand-in whose admin answers the given offsets, or fails when `failing` is set. */
function fakeKafka(state: {
  committed: { partition: number; offset: string }[];
  watermarks: { partition: number; low: string; high: string }[];
  failing?: boolean;
  admins?: number;
}): Pick<Kafka, 'admin'> {
  return {
    admin: () => {
      state.admins = (state.admins ?? 0) + 1;
      const fail = async (): Promise<void> => {
        if (state.failing) {
          throw new Error('broker gone');
        }
        return Promise.resolve();
      };
      return {
        connect: fail,
        disconnect: () => Promise.resolve(),
        fetchOffsets: async ({ topics }: { topics: string[] }) => {
          await fail();
          return topics.map((topic) => ({ topic, partitions: state.committed }));
        },
        fetchTopicOffsets: async () => {
          await fail();
          return state.watermarks.map((mark) => ({ ...mark, offset: mark.high }));
        },
      } as unknown as Admin;
    },
  };
}

describe('readConsumerLag', () => {
  it('when a partition has a committed offset, then its lag is the high watermark minus it; with none, high minus low', async () => {
    const admin = fakeKafka({
      committed: [
        { partition: 0, offset: '5' },
        { partition: 1, offset: '-1' },
        { partition: 2, offset: '3' },
      ],
      watermarks: [
        { partition: 0, low: '0', high: '8' },
        { partition: 1, low: '2', high: '6' },
        // Retention removed offsets below the committed one: what is left counts.
        { partition: 2, low: '10', high: '12' },
      ],
    }).admin();

    const lags = await readConsumerLag(admin, 'group', ['topic']);

    expect(lags).toEqual([
      { topic: 'topic', partition: 0, lag: 3 },
      { topic: 'topic', partition: 1, lag: 4 },
      { topic: 'topic', partition: 2, lag: 2 },
    ]);
  });
});

describe('consumerMetrics', () => {
  it('when messages are handled and dead-lettered, then the counters move per topic, from 0', async () => {
    const registry = createMetricsRegistry();
    const signals = new EventEmitter<ConsumerSignals>();
    const metrics = consumerMetrics({
      registry,
      kafka: fakeKafka({ committed: [], watermarks: [] }),
      groupId: 'group',
      topics: ['a', 'b'],
      logger,
      timeoutMs: 1000,
    });

    expect(metricValue(await scrape(registry), 'kafka_messages_handled_total', { topic: 'b' })).toBe(0);
    metrics.watch(signals);
    signals.emit('handled', {} as AnyCardEvent, context('a'));
    signals.emit('handled', {} as AnyCardEvent, context('a'));
    signals.emit('dead-lettered', 'bad', context('b'));
    const exposition = await scrape(registry);
    await metrics.close();

    expect(metricValue(exposition, 'kafka_messages_handled_total', { topic: 'a' })).toBe(2);
    expect(metricValue(exposition, 'kafka_dead_letters_total', { topic: 'b' })).toBe(1);
    expect(metricValue(exposition, 'kafka_dead_letters_total', { topic: 'a' })).toBe(0);
  });

  it('when Kafka stops answering, then a scrape still succeeds with the last lag, and a fresh admin is used next', async () => {
    const registry = createMetricsRegistry();
    const state: Parameters<typeof fakeKafka>[0] = {
      committed: [{ partition: 0, offset: '1' }],
      watermarks: [{ partition: 0, low: '0', high: '4' }],
    };
    const metrics = consumerMetrics({
      registry,
      kafka: fakeKafka(state),
      groupId: 'group',
      topics: ['t'],
      logger,
      timeoutMs: 1000,
    });
    const lag = async () =>
      metricValue(await scrape(registry), 'kafka_consumer_lag', {
        group: 'group',
        topic: 't',
        partition: '0',
      });

    expect(await lag()).toBe(3);
    state.failing = true;
    expect(await lag()).toBe(3);
    state.failing = false;
    state.committed = [{ partition: 0, offset: '4' }];
    expect(await lag()).toBe(0);
    await metrics.close();

    expect(state.admins).toBe(2);
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
