import { createKafka, KafkaEventPublisher, KafkaProbe } from '@cards/messaging';
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
import { OutboxRelay } from './entry-points/jobs/outbox-relay';
import { outboxRelayMetrics, timedPublisher } from './entry-points/metrics';

/** The running relay. */
export interface RunningRelay {
  relay: OutboxRelay;
  /** Base URL of its ops server: /healthz, /readyz, /metrics. */
  url: string;
  logger: Logger;
  stop(): Promise<void>;
}

/**
 * Starts the outbox relay process: publishes outbox rows to Kafka while it holds the relay lock. Its ops server
 * listens on OUTBOX_RELAY_HTTP_PORT (0 = any free port) before Kafka is reached, so /readyz can tell why a relay
 * that cannot reach it is not ready.
 */
export async function start(config: CardApiConfig = loadConfig()): Promise<RunningRelay> {
  const logger = createLogger({ service: 'outbox-relay', level: config.LOG_LEVEL });
  const db = createDatabase({ url: config.DATABASE_URL, poolMax: 3, logger });
  const kafkaSettings = { clientId: `${config.KAFKA_CLIENT_ID}-relay`, brokers: config.KAFKA_BROKERS };
  const kafka = createKafka(kafkaSettings, logger);
  const kafkaProbe = new KafkaProbe(kafkaSettings, logger, config.READINESS_TIMEOUT_MS);
  const metrics = createMetricsRegistry();
  // Given the logger, it writes an info line per batch, and at debug a line per event (each card's saga step).
  const publisher = new KafkaEventPublisher(kafka, topicNames(config), logger);
  const relay = new OutboxRelay({
    db,
    databaseUrl: config.DATABASE_URL,
    publisher: timedPublisher(metrics, publisher),
    logger,
    batchSize: config.OUTBOX_BATCH_SIZE,
    pollIntervalMs: config.OUTBOX_POLL_INTERVAL_MS,
    lingerMs: config.OUTBOX_LINGER_MS,
    retentionHours: config.OUTBOX_RETENTION_HOURS,
    quarantineAfterAttempts: config.OUTBOX_QUARANTINE_AFTER_ATTEMPTS,
  });
  outboxRelayMetrics(metrics, { db, relay, logger, timeoutMs: config.READINESS_TIMEOUT_MS });
  const ops = await startOpsServer({
    host: config.HTTP_HOST,
    port: config.OUTBOX_RELAY_HTTP_PORT,
    registry: metrics,
    readinessChecks: [
      databaseReadinessCheck(db, config.READINESS_TIMEOUT_MS),
      { name: 'kafka', check: () => kafkaProbe.check() },
    ],
    logger,
  });
  try {
    await publisher.connect();
  } catch (error) {
    await Promise.allSettled([ops.close(), kafkaProbe.close(), db.destroy()]);
    throw error;
  }
  relay.start();
  return {
    relay,
    url: ops.url,
    logger,
    async stop() {
      // Finish the batch in flight (so its rows are marked), then let go of Kafka and the database; the ops
      // server goes last, so probes see the relay until it is gone.
      await relay.stop();
      await publisher.disconnect();
      await db.destroy();
      await ops.close();
      await kafkaProbe.close();
    },
  };
}

if (require.main === module) {
  runService('outbox-relay', loadConfig, start);
}
