import { randomUUID } from 'node:crypto';

import { CardSchema } from '@cards/contracts';
import {
  eventually,
  histogramCount,
  metricValue,
  samplesOf,
  scrapeMetrics,
  type Exposition,
} from '@cards/test-support';

import { buildCardRequest, startCardApi, type CardApiHarness } from '../support/card-api';

const HTTP = 'http_request_duration_seconds';
const SAGA = 'card_saga_duration_seconds';
const DEADLINE_SECONDS = 2;

describe('card-api metrics on GET /metrics', () => {
  let harness: CardApiHarness;
  let user: { token: string };

  beforeAll(async () => {
    // A short saga deadline, so the reaper ends sagas within the test.
    harness = await startCardApi('metrics-card-api', {
      SAGA_DEADLINE_SECONDS: String(DEADLINE_SECONDS),
      SAGA_REAPER_INTERVAL_MS: '250',
    });
    user = await harness.createUser();
  });

  afterAll(async () => {
    await harness.stop();
  });

  const scrape = (): Promise<Exposition> => scrapeMetrics(harness.api.url);

  async function requestCard(): Promise<string> {
    const response = await harness.request('/v1/cards', {
      method: 'POST',
      token: user.token,
      body: buildCardRequest(),
    });
    expect(response.status).toBe(202);
    return CardSchema.parse(await response.json()).id;
  }

  it('when requests are answered, then each is counted by method, route template and status, and ids never become labels', async () => {
    const before = await scrape();
    const count = (exposition: Exposition, labels: Record<string, string>): number =>
      histogramCount(exposition, HTTP, labels);

    const cardId = await requestCard();
    expect((await harness.request(`/v1/cards/${cardId}`, { token: user.token })).status).toBe(200);
    expect((await harness.request(`/v1/cards/${randomUUID()}`, { token: user.token })).status).toBe(404);
    expect((await harness.request(`/no/such/path/${cardId}`)).status).toBe(404);
    const after = await scrape();

    const post = { method: 'POST', route: '/v1/cards', status_code: '202' };
    expect(count(after, post)).toBe(count(before, post) + 1);
    const found = { method: 'GET', route: '/v1/cards/:id', status_code: '200' };
    expect(count(after, found)).toBe(count(before, found) + 1);
    const notFound = { method: 'GET', route: '/v1/cards/:id', status_code: '404' };
    expect(count(after, notFound)).toBe(count(before, notFound) + 1);
    const unmatched = { route: 'unmatched', status_code: '404' };
    expect(count(after, unmatched)).toBe(count(before, unmatched) + 1);
    const routes = samplesOf(after, `${HTTP}_count`).map((sample) => sample.labels['route'] ?? '');
    expect(routes.filter((route) => route.includes(cardId) || route === '/metrics')).toEqual([]);
    // The latency is there too: the sum grew with the request.
    expect(metricValue(after, `${HTTP}_sum`, post)).toBeGreaterThan(metricValue(before, `${HTTP}_sum`, post));
  });

  it('when cards are requested, then the cards gauge counts them by status, read from the database', async () => {
    const total = (exposition: Exposition): number => metricValue(exposition, 'cards');
    const before = await scrape();
    expect(
      samplesOf(before, 'cards')
        .map((sample) => sample.labels['status'])
        .sort(),
    ).toEqual(['ACTIVE', 'FAILED', 'PENDING']);

    await requestCard();
    await requestCard();

    expect(total(await scrape())).toBe(total(before) + 2);
  });

  it('when a card outlives the saga deadline, then the reaper fails it and the saga duration counts it once as FAILED_TIMED_OUT', async () => {
    // Cards of earlier tests time out too: wait until none is left PENDING, so this card is the only one to come.
    await eventually(async () => {
      expect(metricValue(await scrape(), 'cards', { status: 'PENDING' })).toBe(0);
    });
    const before = await scrape();
    const outcome = { outcome: 'FAILED_TIMED_OUT' };

    await requestCard();

    const after = await eventually(async () => {
      const exposition = await scrape();
      expect(histogramCount(exposition, SAGA, outcome)).toBe(histogramCount(before, SAGA, outcome) + 1);
      return exposition;
    });
    expect(metricValue(after, 'cards', { status: 'FAILED' })).toBe(
      metricValue(before, 'cards', { status: 'FAILED' }) + 1,
    );
    // From the card's request to its failure: at least the deadline, by the database's clock.
    expect(
      metricValue(after, `${SAGA}_sum`, outcome) - metricValue(before, `${SAGA}_sum`, outcome),
    ).toBeGreaterThan(DEADLINE_SECONDS);
  });
});
