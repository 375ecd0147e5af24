import {
  createLogger,
  KafkaProbe,
  listen,
  type Logger,
  runMain,
  withTimeout,
} from '@cards/platform';

import { loadConfig, type CardApiConfig } from './config';
import { createDatabase } from './data-access/database';
import { createApp } from './entry-points/http/app';

/** The running HTTP API. */
export interface RunningApi {
  url: string;
  logger: Logger;
  stop(): Promise<void>;
}

/** Starts the card HTTP API: database pool, Kafka probe, HTTP server. Listens on HTTP_PORT (0 = any free port). */
export async function start(config: CardApiConfig = loadConfig()): Promise<RunningApi> {
  const logger = createLogger({ service: 'card-api', level: config.LOG_LEVEL });
  const db = createDatabase({ url: config.DATABASE_URL, poolMax: config.DATABASE_POOL_MAX, logger });
  const kafkaProbe = new KafkaProbe(
    { clientId: config.KAFKA_CLIENT_ID, brokers: config.KAFKA_BROKERS },
    logger,
    config.READINESS_TIMEOUT_MS,
  );

  const app = createApp({
    logger,
    readinessChecks: [
      {
        name: 'database',
        check: async () => {
          try {
            await withTimeout(db.raw(/* sql */ 'SELECT 1'), config.READINESS_TIMEOUT_MS);
            return { up: true };
          } catch (error) {
            return { up: false, reason: error instanceof Error ? error.message : String(error) };
          }
        },
      },
      { name: 'kafka', check: () => kafkaProbe.check() },
    ],
  });

  const { url, close } = await listen(app, config.HTTP_PORT, config.HTTP_HOST);
  logger.info({ url }, 'card-api listening');

  return {
    url,
    logger,
    async stop() {
      // Stop taking requests first, then release what the requests used.
      await close();
      await kafkaProbe.close();
      await db.destroy();
    },
  };
}

if (require.main === module) {
  runMain({
    name: 'card-api',
    start: async () => {
      const config = loadConfig();
      const running = await start(config);
      return { running, logger: running.logger, shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS };
    },
  });
}
