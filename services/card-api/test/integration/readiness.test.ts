import { eventually, type TestDatabase } from '@cards/test-support';
import { Client } from 'pg';

import { start, type RunningApi } from '../../src/main-api';
import { createMigratedDatabase, testConfig } from '../support/card-api';

async function withServer<T>(work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: process.env['TEST_DATABASE_URL'] });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

describe('GET /readyz', () => {
  let database: TestDatabase;
  const running: RunningApi[] = [];

  beforeAll(async () => {
    database = await createMigratedDatabase('readiness');
  });

  afterAll(async () => {
    await Promise.all(running.map((api) => api.stop()));
    await database.drop();
  });

  async function startApi(overrides: Record<string, string> = {}): Promise<RunningApi> {
    const api = await start(testConfig(database.url, overrides));
    running.push(api);
    return api;
  }

  it('when the database and Kafka answer, then it is ready and says so per dependency', async () => {
    const api = await startApi();

    const response = await fetch(`${api.url}/readyz`);

    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ready', checks: { database: 'up', kafka: 'up' } });
  });

  it('when Kafka does not answer, then it is 503 problem+json naming Kafka, within seconds', async () => {
    // Nothing listens on port 1: as good as a stopped broker, without stopping the broker other files use.
    const api = await startApi({ KAFKA_BROKERS: '127.0.0.1:1', READINESS_TIMEOUT_MS: '1500' });

    const startedAt = Date.now();
    const response = await fetch(`${api.url}/readyz`);

    expect(Date.now() - startedAt).toBeLessThan(5000);
    expect(response.status).toBe(503);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
    const problem = (await response.json()) as Record<string, unknown>;
    expect(problem).toMatchObject({
      status: 503,
      code: 'NOT_READY',
      detail: 'Unreachable: kafka',
      checks: { database: 'up', kafka: 'down' },
    });
  });

  it('when the database refuses connections, then it is 503 naming the database, and /healthz stays 200', async () => {
    const api = await startApi({ READINESS_TIMEOUT_MS: '1500' });
    // A real outage of this database only: no new connections, and the existing ones cut.
    await withServer(async (client) => {
      await client.query(/* sql */ `ALTER DATABASE "${database.name}" ALLOW_CONNECTIONS false`);
      await client.query(
        /* sql */ 'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1',
        [database.name],
      );
    });
    try {
      const ready = await fetch(`${api.url}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({ checks: { database: 'down', kafka: 'up' } });

      const alive = await fetch(`${api.url}/healthz`);
      expect(alive.status).toBe(200);
    } finally {
      await withServer((client) =>
        client.query(/* sql */ `ALTER DATABASE "${database.name}" ALLOW_CONNECTIONS true`),
      );
    }

    const recovered = await eventually(async () => {
      const response = await fetch(`${api.url}/readyz`);
      expect(response.status).toBe(200);
      return response;
    });
    expect(recovered.status).toBe(200);
  });
});
