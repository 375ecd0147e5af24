import { baseConfigShape, env, parseEnv } from '@cards/runtime';
import { z } from 'zod';

/** Every setting of mock-provider; `.env.example` documents each one. */
const configSchema = z.object({
  ...baseConfigShape,
  /** Interface the HTTP server binds; 0.0.0.0 inside a container. */
  HTTP_HOST: z.string().min(1).default('127.0.0.1'),
  /** HTTP port; 0 picks a free one (tests). */
  HTTP_PORT: env.int(3200, { min: 0, max: 65_535 }),
  /** The database the provider keeps its cards in; created when missing. */
  DATABASE_URL: env.url('postgres://postgres@127.0.0.1:5432/cards', ['postgres', 'postgresql']),
  /** Connections of the provider's pool. */
  DATABASE_POOL_MAX: env.int(5, { min: 1, max: 100 }),
  /**
   * The provider's own schema in that database: it shares the server, not the tables, with card-api, as a real
   * provider would share nothing. It is quoted into DDL, so only plain identifiers are accepted.
   */
  PROVIDER_DB_SCHEMA: z
    .string()
    .default('mock_provider')
    .pipe(z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lower-case SQL identifier')),
  /** How long /readyz waits for the database before calling it down. */
  READINESS_TIMEOUT_MS: env.int(2000, { min: 100, max: 30_000 }),
  /** Fault injection at start-up (and after POST /control/faults/reset); PUT /control/faults changes it live. */
  PROVIDER_LATENCY_MS: env.int(0, { min: 0, max: 60_000 }),
  PROVIDER_ERROR_RATE: env.share(0),
  PROVIDER_REJECT_RATE: env.share(0),
  PROVIDER_HANG_RATE: env.share(0),
  /** How long a hung request stalls before it finally answers 503. */
  PROVIDER_HANG_MS: env.int(30_000, { min: 0, max: 600_000 }),
  PROVIDER_MALFORMED_RATE: env.share(0),
  PROVIDER_CREATED_THEN_MALFORMED_RATE: env.share(0),
  PROVIDER_CREATED_THEN_HANG_RATE: env.share(0),
  PROVIDER_CANCELLED_THEN_MALFORMED_RATE: env.share(0),
  PROVIDER_LIST_CUT_RATE: env.share(0),
  PROVIDER_OUTAGE: env.boolean(false),
});

export type MockProviderConfig = z.output<typeof configSchema>;

/** Reads and validates the environment once, at start-up; the only reader of process.env in mock-provider. */
export function loadConfig(
  environment: Record<string, string | undefined> = process.env,
): MockProviderConfig {
  return parseEnv(configSchema, environment);
}
