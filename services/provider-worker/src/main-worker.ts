import {
  createLogger,
  healthRoutes,
  KafkaProbe,
  listen,
  type Logger,
  runMain,
} from '@cards/platform';
import express from 'express';

import { loadConfig, type WorkerConfig } from './config';

/** The running worker. */
export interface RunningWorker {
  url: string;
  logger: Logger;
  stop(): Promise<void>;
}

/** Starts provider-worker: for now its health endpoints; the provisioning consumer joins in the saga issue. */
export async function start(config: WorkerConfig = loadConfig()): Promise<RunningWorker> {
  const logger = createLogger({ service: 'provider-worker', level: config.LOG_LEVEL });
  const kafkaProbe = new KafkaProbe(
    { clientId: config.KAFKA_CLIENT_ID, brokers: config.KAFKA_BROKERS },
    logger,
    config.READINESS_TIMEOUT_MS,
  );

  const app = express();
  app.disable('x-powered-by');
  app.use(healthRoutes([{ name: 'kafka', check: () => kafkaProbe.check() }]));
  const { url, close } = await listen(app, config.HTTP_PORT, config.HTTP_HOST);
  logger.info({ url }, 'provider-worker listening');

  return {
    url,
    logger,
    async stop() {
      await close();
      await kafkaProbe.close();
    },
  };
}

if (require.main === module) {
  runMain({
    name: 'provider-worker',
    start: async () => {
      const config = loadConfig();
      const running = await start(config);
      return { running, logger: running.logger, shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS };
    },
  });
}
