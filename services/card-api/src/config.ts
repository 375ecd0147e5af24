import { Topics, type TopicNames } from '@cards/contracts';
import { baseConfigShape, ConfigError, env, parseEnv } from '@cards/runtime';
import { z } from 'zod';

/** The development token secret: published in this repository, so production refuses it. */
export const DEVELOPMENT_JWT_SECRET = 'dev-secret-change-me-0123456789abcdef';

const ASYMMETRIC_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'EdDSA',
] as const;

/** Every setting of the card-api processes; `.env.example` documents each one. */
const configSchema = z.object({
  ...baseConfigShape,
  /** Interface the HTTP server binds; 0.0.0.0 inside a container. */
  HTTP_HOST: z.string().min(1).default('127.0.0.1'),
  /** HTTP port; 0 picks a free one (tests). */
  HTTP_PORT: env.int(3000, { min: 0, max: 65_535 }),
  /** Port of outbox-relay's own small HTTP server (/healthz, /readyz, /metrics) on HTTP_HOST; 0 = any free one. */
  OUTBOX_RELAY_HTTP_PORT: env.int(3001, { min: 0, max: 65_535 }),
  /** Port of card-events-consumer's own small HTTP server (/healthz, /readyz, /metrics); 0 = any free one. */
  CARD_EVENTS_HTTP_PORT: env.int(3002, { min: 0, max: 65_535 }),
  /** The card database; created when missing. */
  DATABASE_URL: env.url('postgres://postgres@127.0.0.1:5432/cards', ['postgres', 'postgresql']),
  /** Connections per process. */
  DATABASE_POOL_MAX: env.int(10, { min: 1, max: 100 }),
  /** Comma-separated bootstrap brokers. */
  KAFKA_BROKERS: env.list('127.0.0.1:9092'),
  KAFKA_CLIENT_ID: z.string().min(1).default('card-api'),
  /** Partitions of each topic created at set-up. */
  KAFKA_TOPIC_PARTITIONS: env.int(6, { min: 1, max: 1000 }),
  /** Replicas of each topic created at set-up: 1 on the single local broker, 3 on a cluster. */
  KAFKA_TOPIC_REPLICATION_FACTOR: env.int(1, { min: 1, max: 32 }),
  /**
   * The topics' min.insync.replicas: with acks=all (every producer of ours), a write is acknowledged only once this
   * many replicas have it, and refused while fewer are in sync. 2 of 3 on a cluster survives one broker's loss.
   */
  KAFKA_TOPIC_MIN_INSYNC_REPLICAS: env.int(1, { min: 1, max: 32 }),
  /** How long /readyz waits for each dependency before calling it down. */
  READINESS_TIMEOUT_MS: env.int(2000, { min: 100, max: 30_000 }),
  KAFKA_MAX_WAIT_MS: env.int(100, { min: 10, max: 10_000 }),
  TOPIC_PROVISIONING_COMMANDS: z.string().min(1).default(Topics.provisioningCommands),
  TOPIC_PROVISIONING_RESULTS: z.string().min(1).default(Topics.provisioningResults),
  /** Consumer group of card-events-consumer. */
  CARD_EVENTS_GROUP_ID: z.string().min(1).default('card-api.card-events'),
  /** Results card-events-consumer applies in one transaction at most. */
  CARD_EVENTS_MAX_BATCH: env.int(500, { min: 1, max: 5000 }),
  /** Partitions card-events-consumer applies at the same time, each batch on its own pooled connection. */
  CARD_EVENTS_PARTITIONS_CONCURRENTLY: env.int(3, { min: 1, max: 64 }),
  /**
   * card-events-consumer's fetches wait up to CARD_EVENTS_FETCH_MAX_WAIT_MS for this many bytes of results (about
   * 25 results), so a batch gathers instead of each transaction applying one or two.
   */
  CARD_EVENTS_FETCH_MIN_BYTES: env.int(16_384, { min: 1, max: 10_485_760 }),
  CARD_EVENTS_FETCH_MAX_WAIT_MS: env.int(40, { min: 1, max: 10_000 }),
  /** provider-worker's consumer group (its KAFKA_GROUP_ID), whose lag GET /v1/admin/pipeline shows. */
  PROVIDER_WORKER_GROUP_ID: z.string().min(1).default('provider-worker'),

  /** HS256 secret of the development token issuer (at least 32 characters); unused when JWT_JWKS_URL is set. */
  JWT_SECRET: z.string().min(32, 'must be at least 32 characters').default(DEVELOPMENT_JWT_SECRET),
  /** The identity provider's key set (production): tokens are then verified with its keys, never with a secret. */
  JWT_JWKS_URL: env.optionalUrl(['https', 'http']),
  /** Algorithms accepted from the key set; asymmetric only, so a public key can never be used as an HMAC secret. */
  JWT_ALGORITHMS: env
    .list('RS256,ES256')
    .pipe(
      z.array(z.enum(ASYMMETRIC_ALGORITHMS, { error: `must be among ${ASYMMETRIC_ALGORITHMS.join(', ')}` })),
    ),
  /** How long fetched keys are trusted, and the least time between two fetches (an unknown `kid` triggers one). */
  JWT_JWKS_CACHE_MAX_AGE_MS: env.int(600_000, { min: 1000, max: 86_400_000 }),
  JWT_JWKS_COOLDOWN_MS: env.int(30_000, { min: 0, max: 3_600_000 }),
  JWT_JWKS_TIMEOUT_MS: env.int(5000, { min: 100, max: 60_000 }),
  JWT_ISSUER: z.string().min(1).default('card-issuing-dev'),
  JWT_AUDIENCE: z.string().min(1).default('card-api'),
  /** Clock skew allowed on exp and nbf. */
  JWT_CLOCK_TOLERANCE_SECONDS: env.int(5, { min: 0, max: 300 }),
  /** How long a replica reuses a user it read (a role change takes effect within it); 0 reads it on every request. */
  AUTH_USER_CACHE_TTL_MS: env.int(5000, { min: 0, max: 60_000 }),
  /** The first admin, created idempotently at start-up. */
  ADMIN_EXTERNAL_ID: z.string().min(1).max(200).default('admin'),
  ADMIN_EMAIL: z.email().default('admin@example.com'),

  /** Cards a user may hold that are not FAILED. */
  CARD_LIMIT_PER_USER: env.int(5, { min: 1, max: 1000 }),
  /** Upper bound of `Prefer: wait=N`. */
  LONG_POLL_MAX_SECONDS: env.int(30, { min: 0, max: 120 }),
  /** Long-polls one user may hold open at once, per process. */
  LONG_POLL_MAX_CONCURRENT_PER_USER: env.int(5, { min: 1, max: 1000 }),
  /** Largest accepted request body. */
  HTTP_BODY_LIMIT: z
    .string()
    .regex(/^\d+(b|kb|mb)$/i, 'must look like 16kb')
    .default('16kb'),
  /** Time a client has to send the request headers, and the whole request; slow senders are cut off after it. */
  HTTP_HEADERS_TIMEOUT_MS: env.int(10_000, { min: 100, max: 300_000 }),
  HTTP_REQUEST_TIMEOUT_MS: env.int(30_000, { min: 100, max: 300_000 }),
  /** Proxy hops in front of the API whose X-Forwarded-For is trusted for the client address (0: none). */
  HTTP_TRUST_PROXY_HOPS: env.int(0, { min: 0, max: 10 }),
  /** Browser origins allowed to call the API (CORS); none by default. */
  CORS_ALLOWED_ORIGINS: env
    .optionalList()
    .pipe(z.array(z.url({ protocol: /^https?$/, error: 'must be origins like https://app.example.com' }))),
  /** The window both card-request rate limits count over. */
  RATE_LIMIT_WINDOW_SECONDS: env.int(60, { min: 1, max: 86_400 }),
  /** Card requests allowed per window per user, across every replica (counted in PostgreSQL). */
  RATE_LIMIT_CARD_CREATE_PER_USER: env.int(10, { min: 1, max: 1_000_000 }),
  /** Card requests allowed per window per client address, per replica (counted in memory; N replicas allow N×). */
  RATE_LIMIT_CARD_CREATE_PER_IP: env.int(100, { min: 1, max: 1_000_000 }),
  /** Requests one process works on at once (held long-polls apart); past it a request is 503 OVERLOADED at once. */
  HTTP_MAX_IN_FLIGHT: env.int(256, { min: 1, max: 100_000 }),
  /** Long-polls one process holds open at once (all users together); past it a long-poll is 503 OVERLOADED. */
  HTTP_MAX_LONG_POLLS: env.int(5000, { min: 1, max: 1_000_000 }),
  /** The Retry-After of a 503 OVERLOADED. */
  HTTP_OVERLOAD_RETRY_AFTER_SECONDS: env.int(1, { min: 1, max: 300 }),
  /** Longest a statement may run, and longest a request waits for a pooled connection, before it is refused. */
  DATABASE_STATEMENT_TIMEOUT_MS: env.int(5000, { min: 100, max: 600_000 }),
  DATABASE_ACQUIRE_TIMEOUT_MS: env.int(5000, { min: 100, max: 60_000 }),

  /** How long an Idempotency-Key is remembered (per user) before it is purged. */
  IDEMPOTENCY_KEY_TTL_HOURS: env.int(24, { min: 1, max: 24 * 30 }),
  /**
   * A card still PENDING this long after its request is failed with TIMED_OUT by the reaper; its command carries
   * the same deadline, past which the worker makes no provider card. Ten minutes: a provider outage of a few
   * minutes (the worker pauses and waits on its circuit) must not fail the cards requested during it, and a client
   * waiting that long can still be told the truth (docs/guarantees.md).
   */
  SAGA_DEADLINE_SECONDS: env.int(600, { min: 1, max: 7 * 24 * 3600 }),
  /** How often the saga-deadline reaper (and the idempotency-key purge) runs in each card-api process. */
  SAGA_REAPER_INTERVAL_MS: env.int(5000, { min: 100, max: 3_600_000 }),
  /** The card provider's API, read by reconciliation (which repairs through the saga, never behind its back). */
  PROVIDER_URL: env.url('http://127.0.0.1:3200', ['http', 'https']),
  /** How often reconciliation runs in card-api (0 = only as an operator command), and the window it compares. */
  RECONCILIATION_INTERVAL_MS: env.int(300_000, { min: 0, max: 24 * 3_600_000 }),
  /** Longer than OUTBOX_RETENTION_HOURS (checked below): a card outlives the outbox rows of its saga in the window. */
  RECONCILIATION_WINDOW_HOURS: env.int(48, { min: 1, max: 24 * 90 }),
  /**
   * How long one run keeps asking a failing provider again (backoff 0.5 s → 10 s) before it ends with a partial
   * report; what it could not read waits for the next run.
   */
  RECONCILIATION_PROVIDER_BUDGET_SECONDS: env.int(120, { min: 1, max: 3600 }),
  /** A provider card still ACTIVE this long after its cancel was requested is asked to cancel again. */
  RECONCILIATION_RECANCEL_AFTER_MINUTES: env.int(30, { min: 1, max: 24 * 60 }),

  /** The operator console counts a PENDING card older than this as stuck (GET /v1/admin/cards/summary). */
  ADMIN_STUCK_PENDING_SECONDS: env.int(30, { min: 1, max: 7 * 24 * 3600 }),
  /** How long an admin route waits for Kafka (pipeline figures, dead letters) before answering without it. */
  ADMIN_KAFKA_TIMEOUT_MS: env.int(5000, { min: 100, max: 60_000 }),

  /** Rows the relay publishes per batch. */
  OUTBOX_BATCH_SIZE: env.int(500, { min: 1, max: 10_000 }),
  /** The relay's polling fallback when no NOTIFY wakes it. */
  OUTBOX_POLL_INTERVAL_MS: env.int(1000, { min: 10, max: 60_000 }),
  /** After a batch that was not full, the relay waits this long before reading the next, so rows gather. */
  OUTBOX_LINGER_MS: env.int(10, { min: 0, max: 1000 }),
  /** A row that fails this many sends on its own (not outages) is quarantined until an operator releases it. */
  OUTBOX_QUARANTINE_AFTER_ATTEMPTS: env.int(5, { min: 1, max: 1000 }),
  /** How long published outbox rows are kept (for operators) before deletion. */
  OUTBOX_RETENTION_HOURS: env.int(24, { min: 0, max: 24 * 90 }),
});

export type CardApiConfig = z.output<typeof configSchema>;

/** Reads and validates the environment once, at start-up; the only reader of process.env in card-api. */
export function loadConfig(environment: Record<string, string | undefined> = process.env): CardApiConfig {
  const config = parseEnv(configSchema, environment);
  const problems = [...productionProblems(config, environment), ...consistencyProblems(config)];
  if (problems.length > 0) {
    throw new ConfigError(problems);
  }
  return config;
}

/**
 * What production refuses: the published development secret, and defaults for whom tokens must be issued by and
 * for (a token minted for another service of the same identity provider must not be accepted here).
 */
function productionProblems(
  config: CardApiConfig,
  environment: Record<string, string | undefined>,
): string[] {
  if (config.NODE_ENV !== 'production') {
    return [];
  }
  const problems: string[] = [];
  if (!config.JWT_JWKS_URL && config.JWT_SECRET === DEVELOPMENT_JWT_SECRET) {
    problems.push(
      'JWT_SECRET: the development secret is refused in production; set JWT_JWKS_URL or a secret of your own',
    );
  }
  if (config.JWT_JWKS_URL && new URL(config.JWT_JWKS_URL).protocol !== 'https:') {
    problems.push('JWT_JWKS_URL: must be https in production');
  }
  for (const variable of ['JWT_ISSUER', 'JWT_AUDIENCE'] as const) {
    if (!environment[variable]?.trim()) {
      problems.push(`${variable}: must be set explicitly in production`);
    }
  }
  return problems;
}

function consistencyProblems(config: CardApiConfig): string[] {
  const problems: string[] = [];
  if (config.KAFKA_TOPIC_MIN_INSYNC_REPLICAS > config.KAFKA_TOPIC_REPLICATION_FACTOR) {
    // Every write would be refused: more replicas must have it than exist.
    problems.push('KAFKA_TOPIC_MIN_INSYNC_REPLICAS: must not exceed KAFKA_TOPIC_REPLICATION_FACTOR');
  }
  if (config.HTTP_HEADERS_TIMEOUT_MS > config.HTTP_REQUEST_TIMEOUT_MS) {
    problems.push('HTTP_HEADERS_TIMEOUT_MS: must not exceed HTTP_REQUEST_TIMEOUT_MS');
  }
  // Reconciliation tells a recent cancel from a lost one by the outbox rows: they must outlive the re-ask interval,
  // and the window must reach past them, or a card whose saga's rows are gone would go unexamined.
  if (config.RECONCILIATION_WINDOW_HOURS <= config.OUTBOX_RETENTION_HOURS) {
    problems.push('RECONCILIATION_WINDOW_HOURS: must exceed OUTBOX_RETENTION_HOURS');
  }
  if (config.OUTBOX_RETENTION_HOURS * 60 < config.RECONCILIATION_RECANCEL_AFTER_MINUTES) {
    problems.push('OUTBOX_RETENTION_HOURS: must be at least RECONCILIATION_RECANCEL_AFTER_MINUTES');
  }
  return problems;
}

/** The topic names this process uses (configurable, so tests can give each file its own). */
export function topicNames(config: CardApiConfig): TopicNames {
  return {
    provisioningCommands: config.TOPIC_PROVISIONING_COMMANDS,
    provisioningResults: config.TOPIC_PROVISIONING_RESULTS,
  };
}
