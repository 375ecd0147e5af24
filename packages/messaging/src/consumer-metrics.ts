import type { EventEmitter } from 'node:events';

import { catalogueCounter, catalogueGauge, scrapeTimeRead, type Registry } from '@cards/runtime';
import type { Logger } from 'pino';

import { KafkaAdminSession } from './admin';
import type { KafkaClient } from './client';
import type { ConsumerSignals } from './delivery';
import type { PartitionLag } from './lag';

/** What a consumer's metrics need: how to read its group's offsets. */
export interface ConsumerMetricsOptions {
  registry: Registry;
  /** The process's Kafka client; one admin of its own (no retries) reads the offsets at scrape time. */
  kafka: Pick<KafkaClient, 'admin'>;
  groupId: string;
  topics: readonly string[];
  logger: Logger;
  /** Bound on one scrape's offset reads. */
  timeoutMs: number;
}

/** A consumer's metrics, registered before the consumer starts so that /metrics shows them from the first scrape. */
export interface ConsumerMetrics {
  /** Counts what the started consumer signals: messages handled and dead-lettered, per topic. */
  watch(signals: EventEmitter<ConsumerSignals>): void;
  /** Lets go of the admin client. */
  close(): Promise<void>;
}

/**
 * A consumer's metrics: messages handled and dead-lettered per topic (from its signals, once `watch`ed), and its
 * group's lag per partition, read from Kafka at scrape time (which needs no running consumer: a stopped one lags).
 */
export function consumerMetrics(options: ConsumerMetricsOptions): ConsumerMetrics {
  const handled = catalogueCounter(options.registry, 'messagesHandled');
  const deadLetters = catalogueCounter(options.registry, 'deadLetters');
  for (const topic of options.topics) {
    // Present from the start at 0, so a rate() over the first message is right.
    handled.inc({ topic }, 0);
    deadLetters.inc({ topic }, 0);
  }

  // Never retried: a scrape must report a dead broker, not wait for it (scrapeTimeRead bounds the read).
  const lagReader = new KafkaAdminSession(options.kafka, { retries: 0 });
  let closed = false;
  const read = (): Promise<PartitionLag[]> => {
    if (closed) {
      return Promise.reject(new Error('consumer metrics closed'));
    }
    return lagReader.run((admin) => admin.consumerLag(options.groupId, options.topics));
  };
  const lag = catalogueGauge(options.registry, 'consumerLag', () => refresh());
  const refresh = scrapeTimeRead({
    what: 'kafka_consumer_lag',
    timeoutMs: options.timeoutMs,
    logger: options.logger,
    read,
    apply: (lags) => {
      lag.reset();
      for (const entry of lags) {
        lag.set(
          { group: options.groupId, topic: entry.topic, partition: String(entry.partition) },
          entry.lag,
        );
      }
    },
  });

  return {
    watch(signals) {
      signals.on('handled', (_event, context) => {
        handled.inc({ topic: context.topic });
      });
      signals.on('dead-lettered', (_reason, context) => {
        deadLetters.inc({ topic: context.topic });
      });
    },
    async close() {
      closed = true;
      await lagReader.close();
    },
  };
}
