import { createKafka, createLogger, KafkaEventPublisher, runService, type Logger } from '@cards/platform';

import { loadConfig, topicNames, type CardApiConfig } from './config';
import { createDatabase } from './data-access/database';
import { OutboxRelay } from './entry-points/jobs/outbox-relay';

/** The running relay. */
export interface RunningRelay {
  relay: OutboxRelay;
  logger: Logger;
  stop(): Promise<void>;
}

/** Starts the outbox relay process: publishes outbox rows to Kafka while it holds the relay lock. */
export async function start(config: CardApiConfig = loadConfig()): Promise<RunningRelay> {
  const logger = createLogger({ service: 'outbox-relay', level: config.LOG_LEVEL });
  const db = createDatabase({ url: config.DATABASE_URL, poolMax: 3, logger });
  const kafka = createKafka(
    { clientId: `${config.KAFKA_CLIENT_ID}-relay`, brokers: config.KAFKA_BROKERS },
    logger,
  );
  const publisher = new KafkaEventPublisher(kafka, topicNames(config));
  await publisher.connect();
  const relay = new OutboxRelay({
    db,
    databaseUrl: config.DATABASE_URL,
    publisher,
    logger,
    batchSize: config.OUTBOX_BATCH_SIZE,
    pollIntervalMs: config.OUTBOX_POLL_INTERVAL_MS,
    retentionHours: config.OUTBOX_RETENTION_HOURS,
  });
  relay.start();
  return {
    relay,
    logger,
    async stop() {
      // Finish the batch in flight (so its rows are marked), then let go of Kafka and the database.
      await relay.stop();
      await publisher.disconnect();
      await db.destroy();
    },
  };
}

if (require.main === module) {
  runService('outbox-relay', loadConfig, start);
}
