import { CARD_STATUSES } from '@cards/contracts';
import { type EventPublisher } from '@cards/messaging';
import {
  catalogueCounter,
  catalogueGauge,
  catalogueHistogram,
  scrapeTimeRead,
  type Logger,
  type Registry,
} from '@cards/runtime';
import type { Knex } from 'knex';

import { countCardsByStatus } from '../data-access/cards.repository';
import { outboxBacklog } from '../data-access/outbox.repository';
import type { SagaEnd } from '../domain/card';
import type { OutboxRelay } from './jobs/outbox-relay';

/** The outcome label of a saga: `ACTIVE`, or `FAILED_<failure code>` (a closed set, from the contracts). */
export function sagaOutcome(saga: Pick<SagaEnd, 'status' | 'failureCode'>): string {
  return saga.status === 'ACTIVE' ? 'ACTIVE' : `FAILED_${saga.failureCode ?? 'UNKNOWN'}`;
}

/**
 * `card_saga_duration_seconds{outcome}`: returns the function use cases call when sagas end (from the card's
 * request to its terminal state).
 */
export function sagaDurationMetric(registry: Registry): (sagas: readonly SagaEnd[]) => void {
  const histogram = catalogueHistogram(registry, 'sagaDuration');
  return (sagas) => {
    for (const saga of sagas) {
      const seconds = Math.max(0, (saga.endedAt.getTime() - saga.requestedAt.getTime()) / 1000);
      histogram.observe({ outcome: sagaOutcome(saga) }, seconds);
    }
  };
}

/** `cards{status}`, counted with one GROUP BY at scrape time; a status with no card reads 0. */
export function cardsByStatusMetric(
  registry: Registry,
  options: { db: Knex; logger: Logger; timeoutMs: number },
): void {
  const gauge = catalogueGauge(registry, 'cards', () => refresh());
  const refresh = scrapeTimeRead({
    what: 'cards',
    timeoutMs: options.timeoutMs,
    logger: options.logger,
    read: () => countCardsByStatus(options.db),
    apply: (counts) => {
      for (const status of CARD_STATUSES) {
        gauge.set({ status }, counts[status] ?? 0);
      }
    },
  });
}

/**
 * The relay's metrics: the backlog and the age of its oldest row (read at scrape time, by every relay, active or
 * not), rows published, and whether this relay is the active one.
 */
export function outboxRelayMetrics(
  registry: Registry,
  options: { db: Knex; relay: OutboxRelay; logger: Logger; timeoutMs: number },
): void {
  // Both refresh at scrape time: prom-client collects the metrics of a scrape side by side, so a gauge set only by
  // the other's collect would show the previous scrape's value. Their reads overlap, so they share one query.
  const backlog = catalogueGauge(registry, 'outboxBacklog', () => refresh());
  const oldestAge = catalogueGauge(registry, 'outboxOldestAge', () => refresh());
  const quarantined = catalogueGauge(registry, 'outboxQuarantined', () => refresh());
  const refresh = scrapeTimeRead({
    what: 'outbox_backlog_rows',
    timeoutMs: options.timeoutMs,
    logger: options.logger,
    read: () => outboxBacklog(options.db),
    apply: (figures) => {
      backlog.set(figures.pending);
      oldestAge.set(figures.oldestAgeSeconds);
      quarantined.set(figures.quarantined);
    },
  });
  const published = catalogueCounter(registry, 'outboxPublished');
  const active = catalogueGauge(registry, 'outboxRelayActive');
  active.set(0);
  options.relay.signals.on('published', (count) => {
    published.inc(count);
  });
  options.relay.signals.on('leader', () => {
    active.set(1);
  });
  for (const signal of ['standby', 'leadership-lost'] as const) {
    options.relay.signals.on(signal, () => {
      active.set(0);
    });
  }
}

/**
 * Times each batch the relay publishes into `outbox_publish_duration_seconds{outcome}` (ok, error). A decorator
 * of the publisher the relay is given, so the relay itself knows nothing of metrics.
 */
export function timedPublisher(registry: Registry, publisher: EventPublisher): EventPublisher {
  const histogram = catalogueHistogram(registry, 'outboxPublishDuration');
  return {
    async publish(events) {
      const stop = histogram.startTimer();
      try {
        await publisher.publish(events);
        stop({ outcome: 'ok' });
      } catch (error) {
        stop({ outcome: 'error' });
        throw error;
      }
    },
  };
}
