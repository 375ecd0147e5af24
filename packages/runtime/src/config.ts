import { z } from 'zod';

import { isRedactedKey, maskUrlCredentials } from './logger';

/** Raised when the environment does not satisfy a process's config schema; names every offending variable. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Parses `env` with a process's schema, once, at start-up. A bad value stops the process with a message naming the
 * variable and what was wrong, instead of failing later somewhere far from the cause.
 */
export function parseEnv<Schema extends z.ZodType>(
  schema: Schema,
  env: Record<string, string | undefined>,
): z.output<Schema> {
  const result = schema.safeParse(env);
  if (result.success) {
    return result.data;
  }
  throw new ConfigError(
    result.error.issues.map((issue) => {
      const variable = issue.path.join('.') || '(environment)';
      const value = issue.path.length === 1 ? env[String(issue.path[0])] : undefined;
      // The message goes to stderr, hence the log: a secret is not echoed, a URL's password is masked.
      const shown =
        value === undefined || isRedactedKey(variable)
          ? ''
          : ` (got ${JSON.stringify(maskUrlCredentials(value))})`;
      return `${variable}: ${issue.message}${shown}`;
    }),
  );
}

function urlWithProtocol(protocols: readonly string[]): z.ZodString {
  return z.string().refine(
    (value) => {
      try {
        return protocols.includes(new URL(value).protocol.replace(/:$/, ''));
      } catch {
        return false;
      }
    },
    `must be a URL starting with ${protocols.map((protocol) => `${protocol}://`).join(' or ')}`,
  );
}

/** Reusable field parsers for environment variables, which are always strings (or absent). */
export const env = {
  /** An integer within bounds; `fallback` applies when the variable is absent or empty. */
  int: (fallback: number, bounds: { min?: number; max?: number } = {}) =>
    z.preprocess(
      (value) => (value === undefined || value === '' ? fallback : Number(value)),
      z
        .number({ error: 'must be a number' })
        .int('must be a whole number')
        .min(
          bounds.min ?? Number.MIN_SAFE_INTEGER,
          `must be at least ${bounds.min ?? Number.MIN_SAFE_INTEGER}`,
        )
        .max(
          bounds.max ?? Number.MAX_SAFE_INTEGER,
          `must be at most ${bounds.max ?? Number.MAX_SAFE_INTEGER}`,
        ),
    ),
  /** A share from 0 to 1 (a rate, a fraction); `fallback` applies when the variable is absent or empty. */
  share: (fallback: number) =>
    z.preprocess(
      (value) => (value === undefined || value === '' ? fallback : Number(value)),
      z.number({ error: 'must be a number' }).min(0, 'must be 0..1').max(1, 'must be 0..1'),
    ),
  /** A comma-separated list of non-empty items. */
  list: (fallback: string) =>
    z
      .string()
      .default(fallback)
      .transform((value) =>
        value
          .split(',')
          .map((item) => item.trim())
          .filter((item) => item.length > 0),
      )
      .pipe(z.array(z.string()).min(1, 'must name at least one item')),
  /** A comma-separated list that may be empty (absent or blank means none). */
  optionalList: () =>
    z
      .string()
      .default('')
      .transform((value) =>
        value
          .split(',')
          .map((item) => item.trim())
          .filter((item) => item.length > 0),
      ),
  /** A URL with one of the given protocols. */
  url: (fallback: string, protocols: readonly string[]) => urlWithProtocol(protocols).default(fallback),
  /** A URL with one of the given protocols, or nothing (absent or empty). */
  optionalUrl: (protocols: readonly string[]) =>
    z.preprocess((value) => (value === '' ? undefined : value), urlWithProtocol(protocols).optional()),
  boolean: (fallback: boolean) =>
    z
      .enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'must be true or false' })
      .optional()
      .transform((value) => (value === undefined ? fallback : ['true', '1', 'yes'].includes(value))),
};

/** Settings every process shares. */
export const baseConfigShape = {
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  SHUTDOWN_TIMEOUT_MS: env.int(10_000, { min: 100, max: 120_000 }),
  /**
   * Where finished trace spans go (OpenTelemetry's variable): none, the console, or OTLP over HTTP (to the collector
   * the OTEL_EXPORTER_OTLP_* variables name). traceparent travels either way.
   */
  OTEL_TRACES_EXPORTER: z.enum(['none', 'console', 'otlp']).default('none'),
};
