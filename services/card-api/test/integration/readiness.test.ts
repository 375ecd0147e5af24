import type { TestDatabase } from '@cards/test-support';

import { start, type RunningApi } from '../../src/main-api';
import { createMigratedDatabase, testConfig } from '../support/card-api';

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

  it('when the database does not answer, then it is 503 naming the database', async () => {
    const api = await startApi({
      DATABASE_URL: 'postgres://postgres@127.0.0.1:1/nowhere',
      READINESS_TIMEOUT_MS: '1500',
    });

    const response = await fetch(`${api.url}/readyz`);

    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ checks: { database: 'down', kafka: 'up' } });
  });

  it('when the process is only alive, then /healthz answers 200 without touching dependencies', async () => {
    const api = await startApi({
      DATABASE_URL: 'postgres://postgres@127.0.0.1:1/nowhere',
      KAFKA_BROKERS: '127.0.0.1:1',
    });

    const response = await fetch(`${api.url}/healthz`);

    expect(response.status).toBe(200);
  });
});
