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
});

export type CardApiConfig = z.output<typeof configSchema>;

/** Reads and validates the environment once, at start-up; the only reader of process.env in card-api. */
export function loadConfig(environment: Record<string, string | undefined> = process.env): CardApiConfig {
  return parseEnv(configSchema, environment);
}
