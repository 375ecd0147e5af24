import { type EventPublisher } from '@cards/messaging';
import { createMetricsRegistry } from '@cards/runtime';
import { histogramCount, metricValue, parseExposition } from '@cards/test-support';

import { sagaDurationMetric, sagaOutcome, timedPublisher } from './metrics';

describe('sagaDurationMetric', () => {
  it('when sagas end, then each is observed under its outcome, from request to terminal state', async () => {
    const registry = createMetricsRegistry();
    const sagasEnded = sagaDurationMetric(registry);
    const requestedAt = new Date('2026-11-28T10:00:00Z');

    sagasEnded([
      { cardId: 'a', status: 'ACTIVE', requestedAt, endedAt: new Date('2026-11-28T10:00:02Z') },
      {
        cardId: 'b',
        status: 'FAILED',
        failureCode: 'TIMED_OUT',
        requestedAt,
        endedAt: new Date('2026-11-28T10:02:00Z'),
      },
    ]);

    const exposition = parseExposition(await registry.metrics());
    const name = 'card_saga_duration_seconds';
    expect(histogramCount(exposition, name, { outcome: 'ACTIVE' })).toBe(1);
    expect(metricValue(exposition, `${name}_sum`, { outcome: 'ACTIVE' })).toBe(2);
    expect(metricValue(exposition, `${name}_sum`, { outcome: 'FAILED_TIMED_OUT' })).toBe(120);
    expect(sagaOutcome({ status: 'FAILED', failureCode: 'PROVIDER_REJECTED' })).toBe(
      'FAILED_PROVIDER_REJECTED',
    );
  });
});

describe('timedPublisher', () => {
  it('when a batch is published or fails, then its time is observed under ok or error, and a failure still throws', async () => {
    const registry = createMetricsRegistry();
    let fail = false;
    const publisher: EventPublisher = {
      publish: () => (fail ? Promise.reject(new Error('broker gone')) : Promise.resolve()),
    };
    const timed = timedPublisher(registry, publisher);

    await timed.publish([]);
    fail = true;
    await expect(timed.publish([])).rejects.toThrow('broker gone');

    const exposition = parseExposition(await registry.metrics());
    expect(histogramCount(exposition, 'outbox_publish_duration_seconds', { outcome: 'ok' })).toBe(1);
    expect(histogramCount(exposition, 'outbox_publish_duration_seconds', { outcome: 'error' })).toBe(1);
  });
});
