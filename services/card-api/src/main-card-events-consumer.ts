import { createKafka, consumerMetrics, KafkaProbe, type RunningConsumer } from '@cards/messaging';
import {
  createLogger,
  createMetricsRegistry,
  databaseReadinessCheck,
  runService,
  startOpsServer,
  type Logger,
} from '@cards/runtime';

import { loadConfig, topicNames, type CardApiConfig } from './config';
import { createDatabase } from './data-access/database';
import { Channels, CoalescingNotifier } from './data-access/notifications';
import { applyResultsTransaction } from './data-access/transactions';
import { startCardEventsConsumer } from './entry-points/kafka/card-events.consumer';
import { sagaDurationMetric } from './entry-points/metrics';

/** The running consumer process. */
export interface RunningCardEventsConsumer {
  consumer: RunningConsumer;
  /** Base URL of its ops server: /healthz, /readyz, /metrics. */
  url: string;
  logger: Logger;
  stop(): Promise<void>;
}

/**
 * Starts card-events-consumer: applies provider results to cards. Its ops server listens on CARD_EVENTS_HTTP_PORT
 * (0 = any free port) before the consumer joins its group, so /readyz answers while it joins.
 */
export async function start(config: CardApiConfig = loadConfig()): Promise<RunningCardEventsConsumer> {
  const logger = createLogger({ service: 'card-events-consumer', level: config.LOG_LEVEL });
  // One connection per partition applied at once, one for the NOTIFY hints, one spare.
  const db = createDatabase({
    url: config.DATABASE_URL,
    poolMax: config.CARD_EVENTS_PARTITIONS_CONCURRENTLY + 2,
    logger,
  });
  const kafkaSettings = { clientId: `${config.KAFKA_CLIENT_ID}-card-events`, brokers: config.KAFKA_BROKERS };
  const kafka = createKafka(kafkaSettings, logger);
  const kafkaProbe = new KafkaProbe(kafkaSettings, logger, config.READINESS_TIMEOUT_MS);
  const topics = topicNames(config);
  const metrics = createMetricsRegistry();
  const sagaEnded = sagaDurationMetric(metrics);
  const resultsMetrics = consumerMetrics({
    registry: metrics,
    kafka,
    groupId: config.CARD_EVENTS_GROUP_ID,
    topics: [topics.provisioningResults],
    logger,
    timeoutMs: config.READINESS_TIMEOUT_MS,
  });
  const cardChanged = new CoalescingNotifier(db, Channels.cardChanged, logger);
  const outboxWritten = new CoalescingNotifier(db, Channels.outbox, logger);
  const ops = await startOpsServer({
    host: config.HTTP_HOST,
    port: config.CARD_EVENTS_HTTP_PORT,
    registry: metrics,
    readinessChecks: [
      databaseReadinessCheck(db, config.READINESS_TIMEOUT_MS),
      { name: 'kafka', check: () => kafkaProbe.check() },
    ],
    logger,
  });
  let consumer: RunningConsumer;
  try {
    consumer = await startCardEventsConsumer({
      kafka,
      groupId: config.CARD_EVENTS_GROUP_ID,
      topic: topics.provisioningResults,
      maxWaitTimeInMs: config.CARD_EVENTS_FETCH_MAX_WAIT_MS,
      fetchMinBytes: config.CARD_EVENTS_FETCH_MIN_BYTES,
      maxBatchSize: config.CARD_EVENTS_MAX_BATCH,
      partitionsConsumedConcurrently: config.CARD_EVENTS_PARTITIONS_CONCURRENTLY,
      logger,
      deps: {
        transaction: applyResultsTransaction(db, topics),
        cardsChanged: (cardIds) => {
          cardChanged.hint(cardIds);
        },
        outboxWritten: () => {
          outboxWritten.hint();
        },
        sagaEnded: (sagas) => {
          sagaEnded(sagas);
        },
      },
    });
  } catch (error) {
    await Promise.allSettled([
      ops.close(),
      kafkaProbe.close(),
      resultsMetrics.close(),
      cardChanged.close(),
      outboxWritten.close(),
    ]);
    await db.destroy();
    throw error;
  }
  resultsMetrics.watch(consumer.signals);
  return {
    consumer,
    url: ops.url,
    logger,
    async stop() {
      await consumer.stop();
      await cardChanged.close();
      await outboxWritten.close();
      await db.destroy();
      await resultsMetrics.close();
      await ops.close();
      await kafkaProbe.close();
    },
  };
}

if (require.main === module) {
  runService('card-events-consumer', loadConfig, start);
}
