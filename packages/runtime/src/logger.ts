import { pino, type DestinationStream, type Logger } from 'pino';

export type { DestinationStream, Logger } from 'pino';

/** What a redacted value is replaced with. */
export const REDACTED = '[redacted]';

/**
 * Keys whose values never reach a log line: credentials, tokens and card data. The spellings listed are the ones
 * pino's own `redact` matches exactly at the top level of a line and of a child logger's bindings; nested keys are
 * matched by name whatever their case, `-` or `_` (see `redactForLog`), so `JWT_SECRET`, `jwtSecret` and
 * `jwt-secret` are one key.
 */
export const REDACTED_KEYS = [
  'authorization',
  'Authorization',
  'proxy-authorization',
  'cookie',
  'Cookie',
  'set-cookie',
  'x-api-key',
  'apiKey',
  'api_key',
  'token',
  'accessToken',
  'access_token',
  'idToken',
  'id_token',
  'refreshToken',
  'refresh_token',
  'password',
  'secret',
  'clientSecret',
  'client_secret',
  'JWT_SECRET',
  'pan',
  'PAN',
  'cvv',
  'CVV',
  'cvc',
  'cvv2',
  'cardNumber',
  'card_number',
] as const;

/** `REDACTED_KEYS` as pino redact paths (bracket notation where a key is not an identifier). */
export const REDACTED_PATHS: readonly string[] = [
  ...REDACTED_KEYS.map((key) => (/^[A-Za-z_$][\w$]*$/.test(key) ? key : `["${key}"]`)),
  // Serializers (pino-http's req and res) run after the redaction walk; pino's paths apply to their output.
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["proxy-authorization"]',
  'res.headers["set-cookie"]',
];

function normalizeKey(key: string): string {
  return key.toLowerCase().replace(/[-_]/g, '');
}

const EXACT_KEYS = new Set<string>(REDACTED_KEYS.map(normalizeKey));

/**
 * A key ending in one of these words holds a credential or a card number whatever comes before it
 * (`DB_PASSWORD`, `webhookSecret`, `csrfToken`, `fullCardNumber`). `pan` is matched only exactly: as a suffix it
 * would hide `timespan`.
 */
const SENSITIVE_SUFFIXES = [
  'authorization',
  'cookie',
  'apikey',
  'token',
  'password',
  'passwd',
  'secret',
  'cardnumber',
  'primaryaccountnumber',
];

function classifyKey(key: string): boolean {
  const normalized = normalizeKey(key);
  return EXACT_KEYS.has(normalized) || SENSITIVE_SUFFIXES.some((suffix) => normalized.endsWith(suffix));
}

/**
 * Log lines repeat the same few hundred keys, so each key's verdict is remembered. Bounded, because keys can come
 * from outside (a logged body): when full, the oldest verdict is forgotten and recomputed when next needed.
 */
const KEY_VERDICTS_MAX = 2000;
const keyVerdicts = new Map<string, boolean>();

/** Whether a value under this key is never logged; keys compare ignoring case, `-` and `_`. */
export function isRedactedKey(key: string): boolean {
  let verdict = keyVerdicts.get(key);
  if (verdict === undefined) {
    verdict = classifyKey(key);
    if (keyVerdicts.size >= KEY_VERDICTS_MAX) {
      const oldest = keyVerdicts.keys().next();
      if (!oldest.done) {
        keyVerdicts.delete(oldest.value);
      }
    }
    keyVerdicts.set(key, verdict);
  }
  return verdict;
}

/** `scheme://user:password@` — the password part of a URL such as DATABASE_URL. */
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/[^\s/?#@:]*):[^\s/?#@]*@/gi;

/** Replaces the password of every URL in `text` (`postgres://app:pw@db/cards` → `postgres://app:[redacted]@db/cards`). */
export function maskUrlCredentials(text: string): string {
  // Most strings hold no URL with credentials; both literals the pattern needs are far cheaper to look for.
  if (!text.includes('://') || !text.includes('@')) {
    return text;
  }
  return text.replace(URL_CREDENTIALS, `$1:${REDACTED}@`);
}

/** Deeper than this a log object is cut: a walk that never ends would cost more than the detail is worth. */
const MAX_DEPTH = 12;

/**
 * A copy of `value` fit for a log line: values under sensitive keys replaced at any depth, URL passwords masked in
 * every string, errors serialized as pino does (so their own properties are walked too). The input is not changed.
 */
export function redactForLog(value: unknown): unknown {
  return walk(value, 0, new Set());
}

function walk(value: unknown, depth: number, ancestors: Set<object>): unknown {
  if (typeof value === 'string') {
    return maskUrlCredentials(value);
  }
  if (value === null || typeof value !== 'object') {
    return value;
  }
  if (ancestors.has(value)) {
    return '[Circular]';
  }
  if (depth >= MAX_DEPTH) {
    return '[too deep]';
  }
  if (value instanceof Error) {
    return walk(pino.stdSerializers.err(value), depth, ancestors);
  }
  // What JSON.stringify would write (a Date's string, a URL's href), so that is what gets checked.
  const toJSON: unknown = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') {
    return walk(toJSON.call(value), depth, ancestors);
  }
  ancestors.add(value);
  try {
    if (Array.isArray(value)) {
      return value.map((item: unknown) => walk(item, depth + 1, ancestors));
    }
    const copy: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      copy[key] = isRedactedKey(key) ? REDACTED : walk(item, depth + 1, ancestors);
    }
    return copy;
  } finally {
    ancestors.delete(value);
  }
}

/**
 * A JSON logger for one process; `service` tags every line so merged logs stay readable. `destination` is for
 * tests that read what was logged (stdout otherwise).
 *
 * Redaction has two layers because pino offers no single hook that sees everything: a `formatters.log` walk
 * (`redactForLog`) covers each logged object at any depth and in any key spelling, cheaply; pino's `redact` paths
 * cover the top-level keys of child bindings, which formatters never see. Pino's wildcard paths (`*.x`, `*.*.x`)
 * were not used for nesting: each level multiplies the paths and cost several times the price of a line. Message
 * strings get URL passwords masked; anything else written into a message is the caller's responsibility.
 *
 * JSON to stdout is written asynchronously (see `asyncStdout`).
 */
export function createLogger(options: {
  service: string;
  level: string;
  destination?: DestinationStream;
}): Logger {
  return pino(
    {
      name: options.service,
      level: options.level,
      base: { service: options.service, pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: [...REDACTED_PATHS], censor: REDACTED },
      serializers: {
        // formatters.log has already turned logged errors into redacted plain objects, which pino's default err
        // serializer would serialize again (as type "Object"); an Error bound to a child logger is handled here.
        err: (error: unknown) => (error instanceof Error ? redactForLog(error) : error),
        // The final message, after `%s` interpolation and after pino took an error's message as the line's.
        msg: (message: unknown) => (typeof message === 'string' ? maskUrlCredentials(message) : message),
      },
      formatters: {
        level: (label) => ({ level: label }),
        log: (object) => redactForLog(object) as Record<string, unknown>,
      },
    },
    options.destination ?? readableInTerminal() ?? asyncStdout(),
  );
}

/**
 * Standard output written asynchronously: a line is queued and written with whatever else queued while the previous
 * write was in flight, instead of one blocking write per line. pino flushes what is queued, synchronously, when the
 * process exits (`process.exit` after a drained SIGTERM, or a crash), so only a process killed outright (SIGKILL,
 * an out-of-memory abort) can lose the lines of its last moments; a synchronous write would have them.
 */
function asyncStdout(): DestinationStream {
  return pino.destination({ dest: process.stdout.fd, sync: false });
}

/**
 * Readable lines (pino-pretty) when a developer runs a process in a terminal outside production; JSON otherwise:
 * under `make up` (log files), in containers and in production, where log shippers parse it. pino-pretty is a
 * development dependency, so where it is not installed the JSON stays.
 */
function readableInTerminal(): DestinationStream | undefined {
  if (!process.stdout.isTTY || process.env['NODE_ENV'] === 'production') {
    return undefined;
  }
  try {
    require.resolve('pino-pretty');
  } catch {
    return undefined;
  }
  return pino.transport({
    target: 'pino-pretty',
    options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service' },
  });
}
