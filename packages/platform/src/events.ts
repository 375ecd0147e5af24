import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';

import {
  decodeEvent,
  deadLetterTopic,
  encodeEvent,
  EventCatalog,
  Topics,
  type AnyCardEvent,
  type EncodedEvent,
  type TopicNames,
} from '@cards/contracts';
import { Partitioners, type IHeaders, type Kafka, type KafkaMessage, type Producer } from 'kafkajs';
import type { Logger } from 'pino';

/** Publishes our events; resolves only once Kafka has acknowledged every one (acks=all). */
export interface EventPublisher {
  publish(events: readonly AnyCardEvent[]): Promise<void>;
}

/** Headers added to a dead letter, so an operator sees why, where and after how many attempts. */
export const DeadLetterHeaders = {
  reason: 'dlq-reason',
  sourceTopic: 'dlq-source-topic',
  sourcePartition: 'dlq-source-partition',
  sourceOffset: 'dlq-source-offset',
  consumerGroup: 'dlq-consumer-group',
  attempts: 'dlq-attempts',
  failedAt: 'dlq-failed-at',
} as const;

/**
 * The producer side of the Kafka port: idempotent (no duplicates from its own retries), acks=all, and topics are
 * never auto-created. kafkajs marks its idempotent producer experimental, which is one more reason it stays here.
 */
export class KafkaEventPublisher implements EventPublisher {
  private readonly producer: Producer;
  private connected: Promise<void> | undefined;

  constructor(
    kafka: Kafka,
    private readonly topics: TopicNames = Topics,
  ) {
    this.producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      // Java-compatible murmur2 hashing: a card id maps to the same partition as Kafka's own tools would pick.
      createPartitioner: Partitioners.DefaultPartitioner,
    });
  }

  async connect(): Promise<void> {
    this.connected ??= this.producer.connect();
    await this.connected;
  }

  async publish(events: readonly AnyCardEvent[]): Promise<void> {
    if (events.length === 0) {
      return;
    }
    const byTopic = new Map<string, EncodedEvent[]>();
    for (const event of events) {
      const topic = this.topics[EventCatalog[event.type].topic];
      const encoded = encodeEvent(event);
      byTopic.set(topic, [...(byTopic.get(topic) ?? []), encoded]);
    }
    await this.sendRaw([...byTopic].map(([topic, messages]) => ({ topic, messages })));
  }

  /** Sends already-encoded messages (dead letters, replays); the same guarantees as publish. */
  async sendRaw(
    batches: readonly {
      topic: string;
      messages: readonly { key: string | null; value: string | null; headers: IHeaders }[];
    }[],
  ): Promise<void> {
    await this.connect();
    await this.producer.sendBatch({
      acks: -1,
      topicMessages: batches.map(({ topic, messages }) => ({ topic, messages: [...messages] })),
    });
  }

  async disconnect(): Promise<void> {
    if (this.connected) {
      await this.producer.disconnect();
      this.connected = undefined;
    }
  }
}

/** Where a consumed event came from. */
export interface DeliveryContext {
  topic: string;
  partition: number;
  offset: string;
  attempt: number;
}

/** Signals a consumer emits, so tests and metrics wait on facts instead of time. */
export interface ConsumerSignals {
  handled: [event: AnyCardEvent, context: DeliveryContext];
  retried: [event: AnyCardEvent, context: DeliveryContext, error: unknown];
  'dead-lettered': [reason: string, context: DeliveryContext];
  'group-joined': [];
}

/** A running consumer. */
export interface RunningConsumer {
  signals: EventEmitter<ConsumerSignals>;
  stop(): Promise<void>;
}

export interface EventConsumerOptions {
  kafka: Kafka;
  groupId: string;
  topics: readonly string[];
  logger: Logger;
  /** Applies one event. Throwing means "not applied": it is retried, then dead-lettered. */
  handle: (event: AnyCardEvent, context: DeliveryContext) => Promise<void>;
  /** Errors that no retry can fix (a broken invariant, a rule violation) go straight to the dead-letter topic. */
  isPermanent?: (error: unknown) => boolean;
  /** In-place attempts before a message is dead-lettered. */
  maxAttempts?: number;
  retryBackoffMs?: number;
  /** How long a fetch waits for data; kafkajs's 5 s default would add seconds to every hop of the saga. */
  maxWaitTimeInMs?: number;
  fromBeginning?: boolean;
  /** Publisher for dead letters (to `<topic>.dlq` of the topic consumed); one is created if not given. */
  publisher?: KafkaEventPublisher;
}

function headersToStrings(headers: IHeaders | undefined): Record<string, string | undefined> {
  const result: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value === undefined) {
      continue;
    }
    const first = Array.isArray(value) ? value[0] : value;
    result[name] = first === undefined ? undefined : first.toString();
  }
  return result;
}

/**
 * The consumer side of the Kafka port. Every message is decoded and validated against the contracts before any
 * handler runs; what is not one of our events, or keeps failing, goes to `<topic>.dlq` with the reason and the
 * consumer moves on. Offsets advance only after the handler (and any dead letter) is done: at-least-once.
 */
export async function startEventConsumer(options: EventConsumerOptions): Promise<RunningConsumer> {
  const signals = new EventEmitter<ConsumerSignals>();
  const log = options.logger.child({ component: 'consumer', groupId: options.groupId });
  const maxAttempts = options.maxAttempts ?? 5;
  const ownPublisher = options.publisher ? undefined : new KafkaEventPublisher(options.kafka);
  const publisher = options.publisher ?? ownPublisher;
  if (!publisher) {
    throw new Error('unreachable: a publisher is always available');
  }
  const consumer = options.kafka.consumer({
    groupId: options.groupId,
    maxWaitTimeInMs: options.maxWaitTimeInMs ?? 100,
    allowAutoTopicCreation: false,
  });
  consumer.on(consumer.events.GROUP_JOIN, () => signals.emit('group-joined'));

  const deadLetter = async (
    message: KafkaMessage,
    context: DeliveryContext,
    reason: string,
  ): Promise<void> => {
    await publisher.sendRaw([
      {
        topic: deadLetterTopic(context.topic),
        messages: [
          {
            key: message.key?.toString() ?? null,
            value: message.value?.toString() ?? null,
            headers: {
              ...message.headers,
              [DeadLetterHeaders.reason]: reason.slice(0, 2000),
              [DeadLetterHeaders.sourceTopic]: context.topic,
              [DeadLetterHeaders.sourcePartition]: String(context.partition),
              [DeadLetterHeaders.sourceOffset]: context.offset,
              [DeadLetterHeaders.consumerGroup]: options.groupId,
              [DeadLetterHeaders.attempts]: String(context.attempt),
              [DeadLetterHeaders.failedAt]: new Date().toISOString(),
            },
          },
        ],
      },
    ]);
    log.warn({ ...context, reason }, 'message dead-lettered');
    signals.emit('dead-lettered', reason, context);
  };

  await consumer.connect();
  await publisher.connect();
  for (const topic of options.topics) {
    await consumer.subscribe({ topic, fromBeginning: options.fromBeginning ?? true });
  }
  await consumer.run({
    autoCommitInterval: 1000,
    eachMessage: async ({ topic, partition, message }) => {
      const base = { topic, partition, offset: message.offset };
      const decoded = decodeEvent({
        value: message.value?.toString() ?? null,
        headers: headersToStrings(message.headers),
      });
      if (!decoded.ok) {
        await deadLetter(message, { ...base, attempt: 0 }, decoded.reason);
        return;
      }
      for (let attempt = 1; ; attempt++) {
        const context = { ...base, attempt };
        try {
          await options.handle(decoded.event, context);
          signals.emit('handled', decoded.event, context);
          return;
        } catch (error) {
          const permanent = options.isPermanent?.(error) ?? false;
          if (permanent || attempt >= maxAttempts) {
            const why = error instanceof Error ? error.message : String(error);
            await deadLetter(message, context, `${permanent ? 'permanent' : 'retries exhausted'}: ${why}`);
            return;
          }
          log.warn({ err: error, ...context }, 'handler failed; retrying');
          signals.emit('retried', decoded.event, context, error);
          await sleep((options.retryBackoffMs ?? 200) * 2 ** (attempt - 1));
        }
      }
    },
  });

  return {
    signals,
    async stop() {
      await consumer.disconnect();
      await ownPublisher?.disconnect();
    },
  };
}
