import { CardSchema } from '@cards/contracts';
import {
  eventually,
  histogramCount,
  metricValue,
  proxyInFrontOf,
  scrapeMetrics,
  type Exposition,
  type TcpProxy,
} from '@cards/test-support';
import { Client } from 'pg';

import { RELAY_LOCK_KEY } from '../../src/data-access/relay-lease';
import { start as startRelay, type RunningRelay } from '../../src/main-outbox-relay';
import { buildCardRequest, startCardApi, type CardApiHarness } from '../support/card-api';

describe('outbox-relay metrics on GET /metrics of its ops server', () => {
  let harness: CardApiHarness;
  let relay: RunningRelay;
  let proxy: TcpProxy;
  let lockHolder: Client;

  beforeAll(async () => {
    harness = await startCardApi('metrics-outbox-relay');
    // The relay reaches PostgreSQL through a proxy, so a test can take its database away.
    const proxied = await proxyInFrontOf(harness.database.url);
    proxy = proxied.proxy;
    // The test holds the relay lock first: the relay stands by, and rows wait in the outbox.
    lockHolder = new Client({ connectionString: harness.database.url });
    await lockHolder.connect();
    await lockHolder.query(/* sql */ 'SELECT pg_advisory_lock($1)', [RELAY_LOCK_KEY]);
    relay = await startRelay({ ...harness.config, DATABASE_URL: proxied.url, OUTBOX_POLL_INTERVAL_MS: 250 });
  });

  afterAll(async () => {
    await relay.stop();
    await lockHolder.end().catch(() => undefined);
    await proxy.stop();
    await harness.stop();
  });

  const scrape = (): Promise<Exposition> => scrapeMetrics(relay.url);

  it('when rows wait while another relay leads, then backlog and oldest age rise; once this one leads, it publishes them and they fall to 0', async () => {
    await eventually(async () => {
      expect(metricValue(await scrape(), 'outbox_relay_active')).toBe(0);
    });
    const { token } = await harness.createUser();
    for (let i = 0; i < 3; i++) {
      const response = await harness.request('/v1/cards', {
        method: 'POST',
        token,
        body: buildCardRequest(),
      });
      CardSchema.parse(await response.json());
    }

    const waiting = await eventually(async () => {
      const exposition = await scrape();
      expect(metricValue(exposition, 'outbox_backlog_rows')).toBe(3);
      expect(metricValue(exposition, 'outbox_oldest_unpublished_age_seconds')).toBeGreaterThan(0);
      return exposition;
    });
    expect(histogramCount(waiting, 'outbox_publish_duration_seconds')).toBe(0);

    await lockHolder.end();

    const published = await eventually(async () => {
      const exposition = await scrape();
      expect(metricValue(exposition, 'outbox_relay_active')).toBe(1);
      expect(metricValue(exposition, 'outbox_backlog_rows')).toBe(0);
      expect(metricValue(exposition, 'outbox_published_events_total')).toBe(3);
      return exposition;
    });
    expect(metricValue(published, 'outbox_oldest_unpublished_age_seconds')).toBe(0);
    expect(
      histogramCount(published, 'outbox_publish_duration_seconds', { outcome: 'ok' }),
    ).toBeGreaterThanOrEqual(1);
    expect(histogramCount(published, 'outbox_publish_duration_seconds', { outcome: 'error' })).toBe(0);
  });

  it('when the active relay loses its database session, then it reports itself inactive until it leads again', async () => {
    await eventually(async () => {
      expect(metricValue(await scrape(), 'outbox_relay_active')).toBe(1);
    });

    proxy.cut();
    try {
      // A scrape still answers while the backlog cannot be read: that gauge keeps its last value.
      await eventually(async () => {
        expect(metricValue(await scrape(), 'outbox_relay_active')).toBe(0);
      });
    } finally {
      proxy.restore();
    }

    await eventually(async () => {
      expect(metricValue(await scrape(), 'outbox_relay_active')).toBe(1);
    });
  });
});
