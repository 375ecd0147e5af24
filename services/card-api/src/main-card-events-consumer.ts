import { createKafka, createLogger, runService, type Logger, type RunningConsumer } from '@cards/platform';

import { loadConfig, topicNames, type CardApiConfig } from './config';
import { createDatabase } from './data-access/database';
import { Channels, CoalescingNotifier } from './data-access/notifications';
import { applyResultTransaction } from './data-access/transactions';
import { startCardEventsConsumer } from './entry-points/kafka/card-events.consumer';

/** The running consumer process. */
export interface RunningCardEventsConsumer {
  consumer: RunningConsumer;
  logger: Logger;
  stop(): Promise<void>;
}

/** Starts card-events-consumer: applies provider results to cards. */
export async function start(config: CardApiConfig = loadConfig()): Promise<RunningCardEventsConsumer> {
  const logger = createLogger({ service: 'card-events-consumer', level: config.LOG_LEVEL });
  const db = createDatabase({ url: config.DATABASE_URL, poolMax: 5, logger });
  const kafka = createKafka(
    { clientId: `${config.KAFKA_CLIENT_ID}-card-events`, brokers: config.KAFKA_BROKERS },
    logger,
  );
  const topics = topicNames(config);
  const cardChanged = new CoalescingNotifier(db, Channels.cardChanged, logger);
  const outboxWritten = new CoalescingNotifier(db, Channels.outbox, logger);
  const consumer = await startCardEventsConsumer({
    kafka,
    groupId: config.CARD_EVENTS_GROUP_ID,
    topic: topics.provisioningResults,
    maxWaitTimeInMs: config.KAFKA_MAX_WAIT_MS,
    logger,
    deps: {
      transaction: applyResultTransaction(db, topics),
      cardsChanged: (cardIds) => {
        cardChanged.hint(cardIds);
      },
      outboxWritten: () => {
        outboxWritten.hint();
      },
    },
  });
  return {
    consumer,
    logger,
    async stop() {
      await consumer.stop();
      await cardChanged.close();
      await outboxWritten.close();
      await db.destroy();
    },
  };
}

if (require.main === module) {
  runService('card-events-consumer', loadConfig, start);
}
