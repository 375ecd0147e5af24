import {
  createTestDatabase,
  eventually,
  proxyInFrontOf,
  type TcpProxy,
  type TestDatabase,
} from '@cards/test-support';

import { startProvider, type ProviderProcess } from '../support/mock-provider';

describe('GET /readyz of mock-provider, when its database goes away', () => {
  let database: TestDatabase;
  let proxy: TcpProxy;
  let provider: ProviderProcess;

  beforeAll(async () => {
    database = await createTestDatabase('mock-provider-readiness');
    // The provider reaches PostgreSQL through a proxy the test can cut.
    const proxied = await proxyInFrontOf(database.url);
    proxy = proxied.proxy;
    provider = await startProvider('mock-provider-readiness', proxied.url, { READINESS_TIMEOUT_MS: '1500' });
  });

  afterAll(async () => {
    await provider.process.stop();
    await proxy.stop();
    await database.drop();
  });

  it('then /readyz turns 503 naming the database while /healthz stays 200, and ready again once it is back', async () => {
    expect((await fetch(`${provider.url}/readyz`)).status).toBe(200);

    proxy.cut();
    try {
      const response = await fetch(`${provider.url}/readyz`);
      expect(response.status).toBe(503);
      expect(await response.json()).toMatchObject({ code: 'NOT_READY', checks: { database: 'down' } });
      expect((await fetch(`${provider.url}/healthz`)).status).toBe(200);
    } finally {
      proxy.restore();
    }

    await eventually(async () => {
      expect((await fetch(`${provider.url}/readyz`)).status).toBe(200);
    });
  });
});
