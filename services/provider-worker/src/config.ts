import { baseConfigShape, env, parseEnv } from '@cards/platform';
import { z } from 'zod';

/** Every setting of provider-worker; `.env.example` documents each one. */
const configSchema = z.object({
  ...baseConfigShape,
  /** Interface and port of the worker's own small HTTP server (health and metrics). */
  HTTP_HOST: z.string().min(1).default('127.0.0.1'),
  HTTP_PORT: env.int(3101, { min: 0, max: 65_535 }),
  KAFKA_BROKERS: env.list('127.0.0.1:9092'),
  KAFKA_CLIENT_ID: z.string().min(1).default('provider-worker'),
  READINESS_TIMEOUT_MS: env.int(2000, { min: 100, max: 30_000 }),
});

export type WorkerConfig = z.output<typeof configSchema>;

/** Reads and validates the environment once, at start-up; the only reader of process.env in provider-worker. */
export function loadConfig(environment: Record<string, string | undefined> = process.env): WorkerConfig {
  return parseEnv(configSchema, environment);
}
