import { setTimeout as sleep } from 'node:timers/promises';

import { Kafka, KafkaJSProtocolError, logLevel, type Admin, type ITopicConfig, type LogEntry } from 'kafkajs';
import type { Logger } from 'pino';

import { withTimeout } from '@cards/runtime';

/**
 * A connected-on-demand Kafka client, handed from a process's main to the port's functions. Code outside this folder
 * names it by this type and never calls it: kafkajs stays behind the port.
 */
export type KafkaClient = Kafka;

/** How this process reaches Kafka. */
export interface KafkaSettings {
  clientId: string;
  brokers: string[];
  /** Connection and request timeouts are kept short so a dead broker shows up in seconds, not minutes. */
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** Retries of connections and requests; kafkajs's default (5, with backoff) unless set. */
  retries?: number;
}

const kafkaLevelToPino = {
  [logLevel.NOTHING]: 'silent',
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
} as const;

/**
 * The only place that constructs a kafkajs client. kafkajs is in maintenance mode: keeping it behind this module
 * means a move to another client touches one package.
 */
export function createKafka(settings: KafkaSettings, logger: Logger): Kafka {
  const kafkaLogger = logger.child({ component: 'kafkajs' });
  return new Kafka({
    clientId: settings.clientId,
    brokers: settings.brokers,
    connectionTimeout: settings.connectionTimeoutMs ?? 3000,
    requestTimeout: settings.requestTimeoutMs ?? 10_000,
    ...(settings.retries !== undefined && { retry: { retries: settings.retries } }),
    // kafkajs logs every reconnect attempt as an error; the readiness probe reports a dead broker instead.
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ level, log }: LogEntry) => {
        const { message, ...rest } = log;
        kafkaLogger[kafkaLevelToPino[level]](rest, message);
      },
  });
}

/**
 * Answers whether the cluster serves a metadata request within `timeoutMs`; never throws. It has a client of its
 * own that never retries: a probe must report a dead broker, not keep reconnecting to it in the background.
 */
export class KafkaProbe {
  private readonly kafka: Kafka;
  private admin: Admin | undefined;

  constructor(
    settings: KafkaSettings,
    logger: Logger,
    private readonly timeoutMs: number,
  ) {
    this.kafka = createKafka(
      { ...settings, clientId: `${settings.clientId}-probe`, retries: 0, connectionTimeoutMs: timeoutMs },
      logger,
    );
  }

  async check(): Promise<{ up: true } | { up: false; reason: string }> {
    this.admin ??= this.kafka.admin();
    const admin = this.admin;
    try {
      await withTimeout(
        (async () => {
          await admin.connect();
          await admin.describeCluster();
        })(),
        this.timeoutMs,
      );
      return { up: true };
    } catch (error) {
      // A half-broken admin client can stay stuck; the next probe starts from a fresh one.
      this.admin = undefined;
      void admin.disconnect().catch(() => undefined);
      return { up: false, reason: error instanceof Error ? error.message : String(error) };
    }
  }

  async close(): Promise<void> {
    await this.admin?.disconnect();
    this.admin = undefined;
  }
}

/**
 * Creates the topics that are missing, with the given partitions, replicas (1 by default) and min.insync.replicas
 * (the broker's default unless given). Topics are created explicitly (DESIGN.md): the broker's auto-create is off,
 * so a typo in a topic name fails loudly instead of creating a stray topic. Existing topics are left as they are.
 */
export async function ensureTopics(
  kafka: Kafka,
  topics: readonly string[],
  options: { partitions: number; replicationFactor?: number; minInsyncReplicas?: number },
): Promise<string[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((topic) => !existing.has(topic));
    if (missing.length > 0) {
      const configs: ITopicConfig[] = missing.map((topic) => ({
        topic,
        numPartitions: options.partitions,
        replicationFactor: options.replicationFactor ?? 1,
        ...(options.minInsyncReplicas !== undefined && {
          configEntries: [{ name: 'min.insync.replicas', value: String(options.minInsyncReplicas) }],
        }),
      }));
      try {
        await admin.createTopics({ topics: configs, waitForLeaders: true });
      } catch (error) {
        if (!isUnknownTopic(error)) {
          throw error;
        }
        await waitForLeaders(admin, missing);
      }
    }
    return missing;
  } finally {
    await admin.disconnect();
  }
}

function isUnknownTopic(error: unknown): boolean {
  return error instanceof KafkaJSProtocolError && error.type === 'UNKNOWN_TOPIC_OR_PARTITION';
}

/**
 * A broker that has just started can answer metadata for topics it created a moment ago with
 * UNKNOWN_TOPIC_OR_PARTITION; kafkajs's own wait for leaders gives up on that answer instead of asking again, so
 * this asks until every partition has a leader (or the deadline passes).
 */
async function waitForLeaders(admin: Admin, topics: readonly string[], timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const { topics: described } = await admin.fetchTopicMetadata({ topics: [...topics] });
      if (described.every((topic) => topic.partitions.every((partition) => partition.leader >= 0))) {
        return;
      }
    } catch (error) {
      if (!isUnknownTopic(error) || Date.now() > deadline) {
        throw error;
      }
    }
    if (Date.now() > deadline) {
      throw new Error(`topics ${topics.join(', ')} have no leader after ${timeoutMs} ms`);
    }
    await sleep(200);
  }
}
