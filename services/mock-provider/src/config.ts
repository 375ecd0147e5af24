import { baseConfigShape, env, parseEnv } from '@cards/platform';
import { z } from 'zod';

/** Every setting of mock-provider; `.env.example` documents each one. */
const configSchema = z.object({
  ...baseConfigShape,
  HTTP_HOST: z.string().min(1).default('127.0.0.1'),
  HTTP_PORT: env.int(3200, { min: 0, max: 65_535 }),
});

export type MockProviderConfig = z.output<typeof configSchema>;

/** Reads and validates the environment once, at start-up; the only reader of process.env in mock-provider. */
export function loadConfig(
  environment: Record<string, string | undefined> = process.env,
): MockProviderConfig {
  return parseEnv(configSchema, environment);
}
