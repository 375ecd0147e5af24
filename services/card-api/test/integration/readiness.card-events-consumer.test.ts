import {
  eventually,
  freeTcpPort,
  proxyInFrontOf,
  startServiceProcess,
  type TcpProxy,
} from '@cards/test-support';

import { start as startConsumer, type RunningCardEventsConsumer } from '../../src/main-card-events-consumer';
import { startCardApi, type CardApiHarness } from '../support/card-api';

async function readiness(url: string): Promise<{ status: number; checks: unknown }> {
  const response = await fetch(`${url}/readyz`);
  const body = (await response.json()) as { checks?: unknown };
  return { status: response.status, checks: body.checks };
}

describe('GET /readyz of card-events-consumer', () => {
  let harness: CardApiHarness;

  beforeAll(async () => {
    harness = await startCardApi('readiness-card-events');
  });

  afterAll(async () => {
    await harness.stop();
  });

  describe('when its database goes away', () => {
    let proxy: TcpProxy;
    let consumer: RunningCardEventsConsumer;

    beforeAll(async () => {
      const proxied = await proxyInFrontOf(harness.database.url);
      proxy = proxied.proxy;
      consumer = await startConsumer({
        ...harness.config,
        DATABASE_URL: proxied.url,
        READINESS_TIMEOUT_MS: 1500,
      });
    });

    afterAll(async () => {
      await consumer.stop();
      await proxy.stop();
    });

    it('then /readyz turns 503 naming the database while /healthz stays 200, and ready again once it is back', async () => {
      expect(await readiness(consumer.url)).toEqual({ status: 200, checks: { database: 'up', kafka: 'up' } });

      proxy.cut();
      try {
        expect(await readiness(consumer.url)).toEqual({
          status: 503,
          checks: { database: 'down', kafka: 'up' },
        });
        expect((await fetch(`${consumer.url}/healthz`)).status).toBe(200);
      } finally {
        proxy.restore();
      }

      await eventually(async () => {
        expect((await readiness(consumer.url)).status).toBe(200);
      });
    });
  });

  it('when Kafka cannot be reached, then /readyz answers 503 naming Kafka while the consumer keeps trying to join', async () => {
    const port = await freeTcpPort();
    const url = `http://127.0.0.1:${port}`;
    // Its own OS process: the consumer keeps trying to connect for minutes, which a test process could not cut short.
    const consumer = await startServiceProcess({
      name: 'readiness-card-events-no-kafka',
      service: 'card-api',
      entry: 'main-card-events-consumer',
      env: {
        NODE_ENV: 'test',
        LOG_LEVEL: 'info',
        DATABASE_URL: harness.database.url,
        // Nothing listens on port 1: a broker that is gone, without stopping the broker other files use.
        KAFKA_BROKERS: '127.0.0.1:1',
        CARD_EVENTS_HTTP_PORT: String(port),
        READINESS_TIMEOUT_MS: '1500',
        ...harness.topicEnv,
      },
      readyUrl: `${url}/healthz`,
    });
    try {
      await eventually(async () => {
        expect(await readiness(url)).toEqual({ status: 503, checks: { database: 'up', kafka: 'down' } });
      });
    } finally {
      await consumer.stop();
    }
  });
});
