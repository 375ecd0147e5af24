import { randomUUID } from 'node:crypto';

import { ProviderCardSchema } from '@cards/contracts';
import {
  createTestDatabase,
  histogramCount,
  samplesOf,
  scrapeMetrics,
  type Exposition,
  type TestDatabase,
} from '@cards/test-support';

import {
  buildCreateRequest,
  postCard,
  setFaults,
  startProvider,
  type ProviderProcess,
} from '../support/mock-provider';

const HTTP = 'http_request_duration_seconds';

describe('mock-provider metrics on GET /metrics', () => {
  let database: TestDatabase;
  let provider: ProviderProcess;

  beforeAll(async () => {
    database = await createTestDatabase('mock-provider-metrics');
    provider = await startProvider('mock-provider-metrics', database.url);
  });

  afterAll(async () => {
    await provider.process.stop();
    await database.drop();
  });

  it('when calls are answered, then each is counted by method, route template and status, and ids never become labels', async () => {
    const before = await scrapeMetrics(provider.url);
    const count = (exposition: Exposition, labels: Record<string, string>): number =>
      histogramCount(exposition, HTTP, labels);

    const created = await postCard(provider.url, randomUUID(), buildCreateRequest());
    expect(created.status).toBe(201);
    const card = ProviderCardSchema.parse(await created.json());
    expect((await fetch(`${provider.url}/v1/cards/${card.id}`)).status).toBe(200);
    await setFaults(provider.url, { rejectRate: 0 });
    const after = await scrapeMetrics(provider.url);

    const create = { method: 'POST', route: '/v1/cards', status_code: '201' };
    expect(count(after, create)).toBe(count(before, create) + 1);
    const read = { method: 'GET', route: '/v1/cards/:id', status_code: '200' };
    expect(count(after, read)).toBe(count(before, read) + 1);
    const control = { method: 'PUT', route: '/control/faults', status_code: '200' };
    expect(count(after, control)).toBe(count(before, control) + 1);
    const routes = samplesOf(after, `${HTTP}_count`).map((sample) => sample.labels['route'] ?? '');
    expect(routes.filter((route) => route.includes(card.id) || route === '/metrics')).toEqual([]);
  });
});
