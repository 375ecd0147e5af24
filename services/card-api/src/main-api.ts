import { KafkaProbe } from '@cards/messaging';
import {
  createLogger,
  createMetricsRegistry,
  listen,
  runService,
  type Logger,
  databaseReadinessCheck,
} from '@cards/runtime';

import { loadConfig, topicNames, type CardApiConfig } from './config';
import { findCardsByIds } from './data-access/cards.repository';
import { createDatabase } from './data-access/database';
import { purgeExpiredIdempotencyKeys } from './data-access/idempotency.repository';
import { CardChangeWaiters, Channels, CoalescingNotifier, PgListener } from './data-access/notifications';
import { requestCardStore } from './data-access/transactions';
import { ensureAdmin, findUserByExternalId } from './data-access/users.repository';
import { createApp } from './entry-points/http/app';
import { clientAddressRateLimit, LongPollSlots } from './entry-points/http/abuse-limits';
import { AdmissionControl } from './entry-points/http/admission-control';
import { authenticate, tokenVerifier } from './entry-points/http/auth';
import { PeriodicJob } from './entry-points/jobs/periodic-job';
import { startReconciliationJob } from './entry-points/jobs/reconciliation';
import { startSagaReaper } from './entry-points/jobs/saga-reaper';
import { createAdminKafka } from './data-access/admin-kafka';
import { cardsByStatusMetric, sagaDurationMetric } from './entry-points/metrics';

/** The running HTTP API. */
export interface RunningApi {
  url: string;
  logger: Logger;
  stop(): Promise<void>;
}

/** Starts the card HTTP API. Listens on HTTP_PORT (0 = any free port). */
export async function start(config: CardApiConfig = loadConfig()): Promise<RunningApi> {
  const logger = createLogger({ service: 'card-api', level: config.LOG_LEVEL });
  const db = createDatabase({
    url: config.DATABASE_URL,
    poolMax: config.DATABASE_POOL_MAX,
    logger,
    acquireTimeoutMs: config.DATABASE_ACQUIRE_TIMEOUT_MS,
    statementTimeoutMs: config.DATABASE_STATEMENT_TIMEOUT_MS,
  });
  const kafkaProbe = new KafkaProbe(
    { clientId: config.KAFKA_CLIENT_ID, brokers: config.KAFKA_BROKERS },
    logger,
    config.READINESS_TIMEOUT_MS,
  );
  await ensureAdmin({ externalId: config.ADMIN_EXTERNAL_ID, email: config.ADMIN_EMAIL }, db);

  const outboxNotifier = new CoalescingNotifier(db, Channels.outbox, logger);
  // One notification wakes every long-poll of the cards it names with one read of those cards.
  const waiters = new CardChangeWaiters((ids) => findCardsByIds(ids, db), logger);
  const shutdown = new AbortController();
  // One LISTEN connection per process serves every long-poll; payloads name the cards that changed.
  const listener = new PgListener({
    url: config.DATABASE_URL,
    channels: [Channels.cardChanged],
    logger,
    onNotification: (_channel, payload) => {
      void waiters.notify(payload.split(','));
    },
    onReconnect: () => {
      void waiters.wakeAll();
    },
  });
  await listener.started();

  // The operator console's Kafka: connects on the first admin request that needs it, closed on stop.
  const topics = topicNames(config);
  const adminKafka = createAdminKafka({
    clientId: config.KAFKA_CLIENT_ID,
    brokers: config.KAFKA_BROKERS,
    logger,
    timeoutMs: config.ADMIN_KAFKA_TIMEOUT_MS,
    consumers: [
      { groupId: config.PROVIDER_WORKER_GROUP_ID, topic: topics.provisioningCommands },
      { groupId: config.CARD_EVENTS_GROUP_ID, topic: topics.provisioningResults },
    ],
    topics: [topics.provisioningCommands, topics.provisioningResults],
  });

  const metrics = createMetricsRegistry();
  cardsByStatusMetric(metrics, { db, logger, timeoutMs: config.READINESS_TIMEOUT_MS });
  const sagasEnded = sagaDurationMetric(metrics);

  const app = createApp({
    logger,
    metrics,
    db,
    waiters,
    shutdown: shutdown.signal,
    bodyLimit: config.HTTP_BODY_LIMIT,
    corsAllowedOrigins: config.CORS_ALLOWED_ORIGINS,
    trustProxyHops: config.HTTP_TRUST_PROXY_HOPS,
    longPollMaxSeconds: config.LONG_POLL_MAX_SECONDS,
    longPollSlots: new LongPollSlots(config.LONG_POLL_MAX_CONCURRENT_PER_USER),
    admission: new AdmissionControl({
      maxInFlight: config.HTTP_MAX_IN_FLIGHT,
      maxLongPolls: config.HTTP_MAX_LONG_POLLS,
      retryAfterSeconds: config.HTTP_OVERLOAD_RETRY_AFTER_SECONDS,
    }),
    cardCreationRateLimit: clientAddressRateLimit({
      perClientAddress: config.RATE_LIMIT_CARD_CREATE_PER_IP,
      windowSeconds: config.RATE_LIMIT_WINDOW_SECONDS,
    }),
    idempotencyKeyTtlHours: config.IDEMPOTENCY_KEY_TTL_HOURS,
    authenticate: authenticate({
      verify: tokenVerifier(config),
      findUser: (externalId) => findUserByExternalId(externalId, db),
      userCacheTtlMs: config.AUTH_USER_CACHE_TTL_MS,
    }),
    requestCardDeps: {
      store: requestCardStore(db, topics),
      cardLimitPerUser: config.CARD_LIMIT_PER_USER,
      sagaDeadlineSeconds: config.SAGA_DEADLINE_SECONDS,
      rateLimitPerUser: {
        points: config.RATE_LIMIT_CARD_CREATE_PER_USER,
        windowSeconds: config.RATE_LIMIT_WINDOW_SECONDS,
      },
      outboxWritten: () => {
        outboxNotifier.hint();
      },
    },
    admin: { topics, stuckPendingSeconds: config.ADMIN_STUCK_PENDING_SECONDS, kafka: adminKafka },
    readinessChecks: [
      databaseReadinessCheck(db, config.READINESS_TIMEOUT_MS),
      { name: 'kafka', check: () => kafkaProbe.check() },
    ],
  });

  const { url, close } = await listen(app, config.HTTP_PORT, config.HTTP_HOST, {
    headersTimeoutMs: config.HTTP_HEADERS_TIMEOUT_MS,
    requestTimeoutMs: config.HTTP_REQUEST_TIMEOUT_MS,
  });
  logger.info({ url }, 'card-api listening');

  // Background jobs of every replica: the saga-deadline reaper and reconciliation (both safe side by side).
  const sagaReaper = startSagaReaper({
    db,
    logger,
    deadlineSeconds: config.SAGA_DEADLINE_SECONDS,
    intervalMs: config.SAGA_REAPER_INTERVAL_MS,
    sagasEnded,
  });
  const reconciliation = startReconciliationJob({
    db,
    logger,
    topics,
    providerUrl: config.PROVIDER_URL,
    intervalMs: config.RECONCILIATION_INTERVAL_MS,
    windowHours: config.RECONCILIATION_WINDOW_HOURS,
    providerBudgetMs: config.RECONCILIATION_PROVIDER_BUDGET_SECONDS * 1000,
    recancelAfterMs: config.RECONCILIATION_RECANCEL_AFTER_MINUTES * 60_000,
    outboxWritten: () => {
      outboxNotifier.hint();
    },
  });

  // Forgets Idempotency-Keys past their TTL (requests already treat those as new); safe on every replica.
  const idempotencyKeyPurge = new PeriodicJob({
    name: 'idempotency-key-purge',
    intervalMs: config.SAGA_REAPER_INTERVAL_MS,
    logger,
    run: async () => {
      const purged = await purgeExpiredIdempotencyKeys(db, config.IDEMPOTENCY_KEY_TTL_HOURS);
      if (purged > 0) {
        logger.info({ purged }, 'expired Idempotency-Keys purged');
      }
    },
  }).start();

  return {
    url,
    logger,
    async stop() {
      // Stop taking requests, let held long-polls answer now, then release what the requests used.
      const closed = close();
      shutdown.abort();
      await closed;
      await Promise.all([sagaReaper.stop(), reconciliation.stop(), idempotencyKeyPurge.stop()]);
      await listener.stop();
      await outboxNotifier.close();
      await kafkaProbe.close();
      await adminKafka.close();
      await db.destroy();
    },
  };
}

if (require.main === module) {
  runService('card-api', loadConfig, start);
}
