import { allTopics } from '@cards/contracts';
import { createKafka, ensureTopics } from '@cards/messaging';
import { createLogger, runOnce } from '@cards/runtime';

import { loadConfig, type CardApiConfig } from './config';
import { createDatabase, ensureDatabaseExists, migrateToLatest } from './data-access/database';

/**
 * One-shot set-up before the processes start: creates the database when missing, migrates it, and creates every
 * Kafka topic (auto-create is off). Idempotent, so `make up` and `docker compose` run it every time.
 */
export async function setUp(config: CardApiConfig = loadConfig()): Promise<void> {
  const logger = createLogger({ service: 'card-api-setup', level: config.LOG_LEVEL });
  const created = await ensureDatabaseExists(config.DATABASE_URL);
  logger.info({ created }, 'database present');
  const db = createDatabase({ url: config.DATABASE_URL, poolMax: 1 });
  try {
    const applied = await migrateToLatest(db);
    logger.info({ applied }, 'migrations applied');
  } finally {
    await db.destroy();
  }
  const kafka = createKafka(
    { clientId: `${config.KAFKA_CLIENT_ID}-setup`, brokers: config.KAFKA_BROKERS },
    logger,
  );
  const createdTopics = await ensureTopics(kafka, allTopics, {
    partitions: config.KAFKA_TOPIC_PARTITIONS,
    replicationFactor: config.KAFKA_TOPIC_REPLICATION_FACTOR,
    minInsyncReplicas: config.KAFKA_TOPIC_MIN_INSYNC_REPLICAS,
  });
  logger.info({ createdTopics }, 'topics present');
}

if (require.main === module) {
  runOnce('card-api-setup', () => setUp());
}
