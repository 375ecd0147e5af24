import { Topics } from '@cards/contracts';
import { baseConfigShape, env, parseEnv } from '@cards/runtime';
import { z } from 'zod';

/** Every setting of provider-worker; `.env.example` documents each one. */
const configSchema = z
  .object({
    ...baseConfigShape,
    /** Interface and port of the worker's own small HTTP server (health). */
    HTTP_HOST: z.string().min(1).default('127.0.0.1'),
    HTTP_PORT: env.int(3101, { min: 0, max: 65_535 }),
    /** Comma-separated bootstrap brokers. */
    KAFKA_BROKERS: env.list('127.0.0.1:9092'),
    KAFKA_CLIENT_ID: z.string().min(1).default('provider-worker'),
    /** Consumer group of the commands topic; replicas share it, so each command goes to one of them. */
    KAFKA_GROUP_ID: z.string().min(1).default('provider-worker'),
    /** How long a fetch waits for data; kafkajs's 5 s default would add seconds to every hop. */
    KAFKA_MAX_WAIT_MS: env.int(100, { min: 1, max: 10_000 }),
    TOPIC_PROVISIONING_COMMANDS: z.string().min(1).default(Topics.provisioningCommands),
    TOPIC_PROVISIONING_RESULTS: z.string().min(1).default(Topics.provisioningResults),
    /** How long /readyz waits for Kafka before calling it down. */
    READINESS_TIMEOUT_MS: env.int(2000, { min: 100, max: 30_000 }),
    /** Base URL of the card provider's HTTP API. */
    PROVIDER_URL: env.url('http://127.0.0.1:3200', ['http', 'https']),
    /** Bound on each provider call, body included; a hung call counts as a transient failure. */
    PROVIDER_TIMEOUT_MS: env.int(3000, { min: 1, max: 60_000 }),
    /**
     * Keep-alive connections to the provider at most; calls beyond them wait for a free one, and the wait counts
     * toward PROVIDER_TIMEOUT_MS.
     */
    PROVIDER_MAX_CONNECTIONS: env.int(64, { min: 1, max: 1024 }),
    /** Provider calls per command, the first included, before a transient failure becomes final. */
    PROVIDER_MAX_ATTEMPTS: env.int(5, { min: 1, max: 20 }),
    /** Upper bound of the first backoff delay; each later one doubles, with full jitter. */
    PROVIDER_RETRY_BASE_MS: env.int(200, { min: 1, max: 60_000 }),
    /** Cap of any one backoff delay. */
    PROVIDER_RETRY_MAX_DELAY_MS: env.int(5000, { min: 1, max: 300_000 }),
    /**
     * Time a command may spend retrying transient failures, from its first call, before it fails
     * PROVIDER_UNAVAILABLE (or is put off, when the other commands' calls failed too); time spent waiting on an
     * open circuit does not count.
     */
    PROVIDER_RETRY_BUDGET_MS: env.int(30_000, { min: 1, max: 3_600_000 }),
    /**
     * The circuit opens when more than this share of the provider calls (any card) of the last
     * PROVIDER_BREAKER_WINDOW_MS failed transiently, if at least PROVIDER_BREAKER_MIN_CALLS were made in it: a
     * sustained failure rate, so a degraded provider (a fifth of calls failing) is used, not shunned.
     */
    PROVIDER_BREAKER_FAILURE_RATE: env.share(0.5),
    PROVIDER_BREAKER_WINDOW_MS: env.int(30_000, { min: 100, max: 600_000 }),
    PROVIDER_BREAKER_MIN_CALLS: env.int(5, { min: 1, max: 1_000_000 }),
    /** How long the circuit stays open (consumption paused) before one probe call may test the provider. */
    PROVIDER_BREAKER_HALF_OPEN_AFTER_MS: env.int(5000, { min: 10, max: 600_000 }),
    /**
     * Commands of one partition in progress at once, never two of the same card: a command waiting for its next
     * retry holds up only its own card.
     */
    KAFKA_PARTITION_CONCURRENCY: env.int(10, { min: 1, max: 1000 }),
    /**
     * How long a finished command waits for others to share its partition's offset commit; a crash in between
     * redelivers them (the provider's idempotency key makes that harmless). 0 commits after every command.
     */
    KAFKA_COMMIT_INTERVAL_MS: env.int(100, { min: 0, max: 5000 }),
    /** How long a result waits for others to share its produce request (results of concurrent commands). */
    RESULTS_PUBLISH_LINGER_MS: env.int(10, { min: 0, max: 1000 }),
  })
  .refine((config) => config.PROVIDER_RETRY_BASE_MS <= config.PROVIDER_RETRY_MAX_DELAY_MS, {
    path: ['PROVIDER_RETRY_BASE_MS'],
    error: 'must not exceed PROVIDER_RETRY_MAX_DELAY_MS',
  });

export type WorkerConfig = z.output<typeof configSchema>;

/** Reads and validates the environment once, at start-up; the only reader of process.env in provider-worker. */
export function loadConfig(environment: Record<string, string | undefined> = process.env): WorkerConfig {
  return parseEnv(configSchema, environment);
}
