import {
  eventually,
  freeTcpPort,
  proxyInFrontOf,
  type TcpProxy,
  type TestDatabase,
} from '@cards/test-support';

import { start as startRelay, type RunningRelay } from '../../src/main-outbox-relay';
import { createMigratedDatabase, testConfig } from '../support/card-api';

async function readiness(url: string): Promise<{ status: number; checks: unknown }> {
  const response = await fetch(`${url}/readyz`);
  const body = (await response.json()) as { checks?: unknown };
  return { status: response.status, checks: body.checks };
}

describe('GET /readyz of outbox-relay', () => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createMigratedDatabase('readiness-outbox-relay');
  });

  afterAll(async () => {
    await database.drop();
  });

  describe('when its database goes away', () => {
    let proxy: TcpProxy;
    let relay: RunningRelay;

    beforeAll(async () => {
      const proxied = await proxyInFrontOf(database.url);
      proxy = proxied.proxy;
      relay = await startRelay(testConfig(proxied.url, { READINESS_TIMEOUT_MS: '1500' }));
    });

    afterAll(async () => {
      await relay.stop();
      await proxy.stop();
    });

    it('then /readyz turns 503 naming the database while /healthz stays 200, and ready again once it is back', async () => {
      expect(await readiness(relay.url)).toEqual({ status: 200, checks: { database: 'up', kafka: 'up' } });

      proxy.cut();
      try {
        expect(await readiness(relay.url)).toEqual({
          status: 503,
          checks: { database: 'down', kafka: 'up' },
        });
        expect((await fetch(`${relay.url}/healthz`)).status).toBe(200);
      } finally {
        proxy.restore();
      }

      await eventually(async () => {
        expect((await readiness(relay.url)).status).toBe(200);
      });
    });
  });

  it('when Kafka cannot be reached, then /readyz answers 503 naming Kafka until the relay gives up starting', async () => {
    const port = await freeTcpPort();
    const url = `http://127.0.0.1:${port}`;
    // Nothing listens on port 1: a broker that is gone, without stopping the broker other files use.
    const starting = startRelay(
      testConfig(database.url, {
        KAFKA_BROKERS: '127.0.0.1:1',
        OUTBOX_RELAY_HTTP_PORT: String(port),
        READINESS_TIMEOUT_MS: '1500',
      }),
    );
    const outcome = starting.then(
      async (relay) => {
        await relay.stop();
        return 'started';
      },
      () => 'gave up',
    );

    await eventually(async () => {
      expect(await readiness(url)).toEqual({ status: 503, checks: { database: 'up', kafka: 'down' } });
    });

    // A relay that cannot reach Kafka does not start (runService then exits non-zero), and lets go of its port.
    expect(await outcome).toBe('gave up');
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  });
});
