import { CardSchema, MetricCatalogue, type MetricProcess } from '@cards/contracts';
import {
  declares,
  eventually,
  histogramCount,
  metricValue,
  scrapeMetrics,
  type Exposition,
} from '@cards/test-support';

import { buildCardRequest } from '../support/card-api';
import { startSaga, type SagaHarness } from '../support/saga';

/**
 * Every process of the system, as a real OS process (card-api in this one), scraped on its own /metrics: each
 * exports exactly the catalogued metrics that name it, so the catalogue, the dashboards and the code cannot drift.
 */
describe('the metric catalogue, against every running process', () => {
  let saga: SagaHarness;
  let urls: Record<MetricProcess, string>;

  beforeAll(async () => {
    saga = await startSaga('metrics-catalogue');
    urls = {
      'card-api': saga.api.url,
      'outbox-relay': saga.urls.outboxRelay,
      'card-events-consumer': saga.urls.cardEventsConsumer,
      'provider-worker': saga.urls.providerWorker,
      'mock-provider': saga.urls.mockProvider,
    };
  });

  afterAll(async () => {
    await saga.stop();
  });

  async function scrapeAll(): Promise<Record<MetricProcess, Exposition>> {
    const entries = await Promise.all(
      Object.entries(urls).map(async ([process, url]) => [process, await scrapeMetrics(url)] as const),
    );
    return Object.fromEntries(entries) as Record<MetricProcess, Exposition>;
  }

  it('when each process is scraped, then it exports every catalogued metric that lists it, with its type, and no other', async () => {
    const scraped = await scrapeAll();

    const wrong: string[] = [];
    for (const [process, exposition] of Object.entries(scraped) as [MetricProcess, Exposition][]) {
      // prom-client's default process metrics come with every one.
      expect(declares(exposition, 'process_cpu_user_seconds_total', 'counter')).toBe(true);
      for (const metric of Object.values(MetricCatalogue)) {
        const listed = (metric.processes as readonly MetricProcess[]).includes(process);
        if (listed && !declares(exposition, metric.name, metric.type)) {
          wrong.push(`${process} does not export ${metric.type} ${metric.name}`);
        }
        if (!listed && declares(exposition, metric.name)) {
          wrong.push(`${process} exports ${metric.name}, which the catalogue does not list for it`);
        }
      }
    }
    expect(wrong).toEqual([]);
  });

  it('when a card goes through the saga, then each process counts its part of it', async () => {
    const before = await scrapeAll();
    const user = await saga.createUser();

    const response = await saga.request('/v1/cards', {
      method: 'POST',
      token: user.token,
      body: buildCardRequest(),
    });
    const cardId = CardSchema.parse(await response.json()).id;
    await eventually(
      async () => {
        const card = await saga.request(`/v1/cards/${cardId}`, { token: user.token });
        expect(CardSchema.parse(await card.json()).status).toBe('ACTIVE');
      },
      { timeoutMs: 30_000 },
    );

    const after = await eventually(async () => {
      const scraped = await scrapeAll();
      expect(metricValue(scraped['card-api'], 'cards', { status: 'ACTIVE' })).toBe(1);
      return scraped;
    });
    const grew = (process: MetricProcess, name: string, labels: Record<string, string>): number =>
      histogramCount(after[process], name, labels) - histogramCount(before[process], name, labels);
    expect(
      grew('card-api', 'http_request_duration_seconds', { route: '/v1/cards', status_code: '202' }),
    ).toBe(1);
    expect(metricValue(after['outbox-relay'], 'outbox_published_events_total')).toBeGreaterThanOrEqual(1);
    expect(
      grew('provider-worker', 'provider_request_duration_seconds', { operation: 'create', outcome: 'ok' }),
    ).toBe(1);
    expect(
      grew('mock-provider', 'http_request_duration_seconds', { route: '/v1/cards', status_code: '201' }),
    ).toBe(1);
    expect(grew('card-events-consumer', 'card_saga_duration_seconds', { outcome: 'ACTIVE' })).toBe(1);
    for (const process of ['provider-worker', 'card-events-consumer'] as const) {
      expect(metricValue(after[process], 'kafka_messages_handled_total')).toBeGreaterThanOrEqual(1);
    }
  });
});
