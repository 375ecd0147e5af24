import { ProviderFaultsSchema, type ProviderFaults } from '@cards/contracts';
import {
  createLogger,
  createMetricsRegistry,
  databaseReadinessCheck,
  listen,
  runService,
  type Logger,
} from '@cards/runtime';

import { loadConfig, type MockProviderConfig } from './config';
import { createCardRepository } from './data-access/card.repository';
import { createDatabase, ensureDatabaseExists, prepareSchema } from './data-access/database';
import { FaultSettings } from './domain/faults';
import { createApp } from './entry-points/http/app';
import type { ProviderStats } from './entry-points/http/control.routes';

/** The running mock provider. */
export interface RunningProvider {
  url: string;
  logger: Logger;
  stop(): Promise<void>;
}

/** The fault settings the environment asks for; POST /control/faults/reset returns to them. */
export function faultsFromConfig(config: MockProviderConfig): ProviderFaults {
  return ProviderFaultsSchema.parse({
    latencyMs: config.PROVIDER_LATENCY_MS,
    errorRate: config.PROVIDER_ERROR_RATE,
    rejectRate: config.PROVIDER_REJECT_RATE,
    hangRate: config.PROVIDER_HANG_RATE,
    malformedRate: config.PROVIDER_MALFORMED_RATE,
    createdThenMalformedRate: config.PROVIDER_CREATED_THEN_MALFORMED_RATE,
    createdThenHangRate: config.PROVIDER_CREATED_THEN_HANG_RATE,
    cancelledThenMalformedRate: config.PROVIDER_CANCELLED_THEN_MALFORMED_RATE,
    listCutRate: config.PROVIDER_LIST_CUT_RATE,
    outage: config.PROVIDER_OUTAGE,
  });
}

/**
 * Starts the mock card provider: creates its database and schema when missing, migrates it, then serves the
 * provider API with fault injection. Listens on HTTP_PORT (0 = any free port).
 */
export async function start(config: MockProviderConfig = loadConfig()): Promise<RunningProvider> {
  const logger = createLogger({ service: 'mock-provider', level: config.LOG_LEVEL });
  await ensureDatabaseExists(config.DATABASE_URL);
  const db = createDatabase({
    url: config.DATABASE_URL,
    schema: config.PROVIDER_DB_SCHEMA,
    poolMax: config.DATABASE_POOL_MAX,
    logger,
  });
  try {
    const applied = await prepareSchema(db, config.PROVIDER_DB_SCHEMA);
    logger.info({ schema: config.PROVIDER_DB_SCHEMA, applied }, 'provider schema ready');
  } catch (error) {
    await db.destroy();
    throw error;
  }

  const faults = new FaultSettings(faultsFromConfig(config));
  const stats: ProviderStats = { createRequests: 0, createdCards: 0 };
  const shutdown = new AbortController();
  const app = createApp({
    logger,
    store: createCardRepository(db),
    faults,
    random: Math.random,
    hangMs: config.PROVIDER_HANG_MS,
    stats,
    shutdown: shutdown.signal,
    readinessChecks: [databaseReadinessCheck(db, config.READINESS_TIMEOUT_MS)],
    metrics: createMetricsRegistry(),
  });

  const { url, server, close } = await listen(app, config.HTTP_PORT, config.HTTP_HOST);
  logger.info({ url, faults: faults.get(), hangMs: config.PROVIDER_HANG_MS }, 'mock-provider listening');

  return {
    url,
    logger,
    async stop() {
      // Cut injected stalls short, stop taking requests, let in-flight ones finish, then release the pool.
      shutdown.abort();
      // close() drops the connections idle at the time; one whose request finishes later would stay open for
      // keep-alive and hold the drain until the client lets go, so those are dropped as they fall idle.
      const dropIdle = setInterval(() => {
        server.closeIdleConnections();
      }, 50);
      try {
        await close();
      } finally {
        clearInterval(dropIdle);
      }
      await db.destroy();
    },
  };
}

if (require.main === module) {
  runService('mock-provider', loadConfig, start);
}
