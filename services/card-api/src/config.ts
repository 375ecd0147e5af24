import { Topics, type TopicNames } from '@cards/contracts';
import { baseConfigShape, env, parseEnv } from '@cards/platform';
import { z } from 'zod';

/** Every setting of the card-api processes; `.env.example` documents each one. */
const configSchema = z.object({
  ...baseConfigShape,
  /** Interface the HTTP server binds; 0.0.0.0 inside a container. */
  HTTP_HOST: z.string().min(1).default('127.0.0.1'),
  /** HTTP port; 0 picks a free one (tests). */
  HTTP_PORT: env.int(3000, { min: 0, max: 65_535 }),
  /** The card database; created when missing. */
  DATABASE_URL: env.url('postgres://postgres@127.0.0.1:5432/cards', ['postgres', 'postgresql']),
  /** Connections per process. */
  DATABASE_POOL_MAX: env.int(10, { min: 1, max: 100 }),
  /** Comma-separated bootstrap brokers. */
  KAFKA_BROKERS: env.list('127.0.0.1:9092'),
  KAFKA_CLIENT_ID: z.string().min(1).default('card-api'),
  /** Partitions of each topic created at set-up. */
  KAFKA_TOPIC_PARTITIONS: env.int(6, { min: 1, max: 1000 }),
  /** How long /readyz waits for each dependency before calling it down. */
  READINESS_TIMEOUT_MS: env.int(2000, { min: 100, max: 30_000 }),
  KAFKA_MAX_WAIT_MS: env.int(100, { min: 10, max: 10_000 }),
  TOPIC_PROVISIONING_COMMANDS: z.string().min(1).default(Topics.provisioningCommands),
  TOPIC_PROVISIONING_RESULTS: z.string().min(1).default(Topics.provisioningResults),
  /** Consumer group of card-events-consumer. */
  CARD_EVENTS_GROUP_ID: z.string().min(1).default('card-api.card-events'),

  /** HS256 secret of the development token issuer (at least 32 characters). */
  JWT_SECRET: z
    .string()
    .min(32, 'must be at least 32 characters')
    .default('dev-secret-change-me-0123456789abcdef'),
  JWT_ISSUER: z.string().min(1).default('card-issuing-dev'),
  JWT_AUDIENCE: z.string().min(1).default('card-api'),
  /** The first admin, created idempotently at start-up. */
  ADMIN_EXTERNAL_ID: z.string().min(1).max(200).default('admin'),
  ADMIN_EMAIL: z.email().default('admin@example.com'),

  /** Cards a user may hold that are not FAILED. */
  CARD_LIMIT_PER_USER: env.int(5, { min: 1, max: 1000 }),
  /** Upper bound of `Prefer: wait=N`. */
  LONG_POLL_MAX_SECONDS: env.int(30, { min: 0, max: 120 }),
  /** Largest accepted request body. */
  HTTP_BODY_LIMIT: z
    .string()
    .regex(/^\d+(b|kb|mb)$/i, 'must look like 16kb')
    .default('16kb'),

  /** How long an Idempotency-Key is remembered (per user) before it is purged. */
  IDEMPOTENCY_KEY_TTL_HOURS: env.int(24, { min: 1, max: 24 * 30 }),
  /** A card still PENDING this long after its request is failed with TIMED_OUT by the reaper. */
  SAGA_DEADLINE_SECONDS: env.int(120, { min: 1, max: 7 * 24 * 3600 }),
  /** How often the saga-deadline reaper (and the idempotency-key purge) runs in each card-api process. */
  SAGA_REAPER_INTERVAL_MS: env.int(5000, { min: 100, max: 3_600_000 }),
  /** The card provider's API, read by reconciliation (which repairs through the saga, never behind its back). */
  PROVIDER_URL: env.url('http://127.0.0.1:3200', ['http', 'https']),
  /** How often reconciliation runs in card-api (0 = only as an operator command), and the window it compares. */
  RECONCILIATION_INTERVAL_MS: env.int(300_000, { min: 0, max: 24 * 3_600_000 }),
  RECONCILIATION_WINDOW_HOURS: env.int(24, { min: 1, max: 24 * 90 }),

  /** Rows the relay publishes per batch. */
  OUTBOX_BATCH_SIZE: env.int(500, { min: 1, max: 10_000 }),
  /** The relay's polling fallback when no NOTIFY wakes it. */
  OUTBOX_POLL_INTERVAL_MS: env.int(1000, { min: 10, max: 60_000 }),
  /** How long published outbox rows are kept (for operators) before deletion. */
  OUTBOX_RETENTION_HOURS: env.int(24, { min: 0, max: 24 * 90 }),
});

export type CardApiConfig = z.output<typeof configSchema>;

/** Reads and validates the environment once, at start-up; the only reader of process.env in card-api. */
export function loadConfig(environment: Record<string, string | undefined> = process.env): CardApiConfig {
  return parseEnv(configSchema, environment);
}

/** The topic names this process uses (configurable, so tests can give each file its own). */
export function topicNames(config: CardApiConfig): TopicNames {
  return {
    provisioningCommands: config.TOPIC_PROVISIONING_COMMANDS,
    provisioningResults: config.TOPIC_PROVISIONING_RESULTS,
  };
}
