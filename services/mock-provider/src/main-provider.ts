import { createLogger, healthRoutes, listen, type Logger, runMain } from '@cards/platform';
import express from 'express';

import { loadConfig, type MockProviderConfig } from './config';

/** The running mock provider. */
export interface RunningProvider {
  url: string;
  logger: Logger;
  stop(): Promise<void>;
}

/** Starts the mock card provider: for now its health endpoint; the card API joins in the saga issue. */
export async function start(config: MockProviderConfig = loadConfig()): Promise<RunningProvider> {
  const logger = createLogger({ service: 'mock-provider', level: config.LOG_LEVEL });
  const app = express();
  app.disable('x-powered-by');
  app.use(healthRoutes([]));
  const { url, close } = await listen(app, config.HTTP_PORT, config.HTTP_HOST);
  logger.info({ url }, 'mock-provider listening');
  return {
    url,
    logger,
    async stop() {
      await close();
    },
  };
}

if (require.main === module) {
  runMain({
    name: 'mock-provider',
    start: async () => {
      const config = loadConfig();
      const running = await start(config);
      return { running, logger: running.logger, shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS };
    },
  });
}
