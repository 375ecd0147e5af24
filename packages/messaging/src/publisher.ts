import { setTimeout as sleep } from 'node:timers/promises';

import {
  EventCatalog,
  encodeEvent,
  Topics,
  type AnyCardEvent,
  type EncodedEvent,
  type TopicNames,
} from '@cards/contracts';
import { backoffDelayMs } from '@cards/runtime';
import { Partitioners, type IHeaders, type Kafka, type Message, type Producer } from 'kafkajs';
import type { Logger } from 'pino';

/**
 * The pause before a failed send's next try: up to 100 ms, doubling, at most 2 s, with full jitter so that producers
 * failing together (every process on a broker's loss) do not retry in step.
 */
const SEND_RETRY_BACKOFF = { initialDelayMs: 100, maxDelayMs: 2000 };

/** Publishes our events; resolves only once Kafka has acknowledged every one (acks=all). */
export interface EventPublisher {
  publish(events: readonly AnyCardEvent[]): Promise<void>;
}

/** Micro-batching of `publish` calls (see KafkaEventPublisher). */
export interface PublishBatching {
  /** How long the first of a batch's publishes waits for others to join it. */
  lingerMs: number;
  /** A batch is sent at once when it holds this many events. */
  maxEvents: number;
}

/** Publishes waiting to be sent together, and how to tell each caller the outcome. */
interface PendingPublish {
  events: readonly AnyCardEvent[];
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * The producer side of the Kafka port: acks=all, one request at a time, and topics are never auto-created.
 *
 * With `batching`, concurrent `publish` calls are sent together: the first waits up to `lingerMs` (or until
 * `maxEvents` are waiting), then one produce request carries them all, and each call resolves or rejects with that
 * request's outcome. Sends go out one at a time, so a caller publishing one event at a time (the worker, a result
 * per command) otherwise pays a broker round trip per event.
 *
 * A failed send is tried again by this class, whole, on a new producer (fresh connections and metadata); kafkajs's own
 * retries are off, because in kafkajs 2.2.4 they lose messages while reporting success, two ways. A retry asks again
 * only the brokers that did not answer: a partition whose leader refused and moved to a broker that had answered for
 * another partition is sent nowhere (the relay lost 351 commands so when leaders moved after a broker outage;
 * test/cluster/publisher-partition-moved.test.ts). And the idempotent producer: a request that timed out while the
 * broker wrote it has its sequence numbers rolled back, and the next batch to that broker, another caller's, takes the
 * same numbers, so the broker answers it as a duplicate of the first and writes nothing (event-publisher.test.ts
 * reproduces it; the worker, whose results are sent side by side, lost a result so in the cluster fault run). That
 * producer refuses to run without its own retries, so this one is not idempotent: with no retries inside kafkajs there
 * is nothing for it to deduplicate, and a batch this class sends again may land twice, which at-least-once delivery
 * (and every consumer's inbox) already allows. Order holds: a batch goes out only once the one before it is
 * acknowledged.
 */
export class KafkaEventPublisher implements EventPublisher {
  private producer: Producer;
  private connected: Promise<void> | undefined;
  private pending: PendingPublish[] = [];
  private pendingEvents = 0;
  private lingerTimer: NodeJS.Timeout | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  /** The send in progress (settled, never rejecting): the next one starts after it. */
  private sending: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly kafka: Kafka,
    private readonly topics: TopicNames = Topics,
    /**
     * When given, each publish gets an info line: naming the event's card and request id (the saga's trail) when
     * it is one event, counting them when it is a batch, whose events then get a debug line each.
     */
    private readonly logger?: Logger,
    private readonly options: {
      batching?: PublishBatching;
      /** Tries of a send, each after the previous failed, on a new producer session (5 by default). */
      sendAttempts?: number;
    } = {},
  ) {
    this.producer = this.createProducer();
  }

  async connect(): Promise<void> {
    this.connected ??= this.producer.connect().catch((error: unknown) => {
      // A failed connect must not be remembered: the next call tries again.
      this.connected = undefined;
      throw error;
    });
    await this.connected;
  }

  async publish(events: readonly AnyCardEvent[]): Promise<void> {
    if (events.length === 0) {
      return;
    }
    const batching = this.options.batching;
    if (!batching) {
      await this.publishNow(events);
      return;
    }
    await new Promise<void>((resolve, reject) => {
      this.pending.push({ events, resolve, reject });
      this.pendingEvents += events.length;
      if (this.pendingEvents >= batching.maxEvents) {
        this.sendPending();
      } else {
        this.lingerTimer ??= setTimeout(() => {
          this.sendPending();
        }, batching.lingerMs);
      }
    });
  }

  /** Sends the waiting publishes as one batch and settles each caller by its outcome. */
  private sendPending(): void {
    clearTimeout(this.lingerTimer);
    this.lingerTimer = undefined;
    const callers = this.pending;
    this.pending = [];
    this.pendingEvents = 0;
    if (callers.length === 0) {
      return;
    }
    const sent = this.publishNow(callers.flatMap((caller) => caller.events)).then(
      () => {
        for (const caller of callers) {
          caller.resolve();
        }
      },
      (error: unknown) => {
        for (const caller of callers) {
          caller.reject(error);
        }
      },
    );
    this.inFlight.add(sent);
    void sent.finally(() => this.inFlight.delete(sent));
  }

  private async publishNow(events: readonly AnyCardEvent[]): Promise<void> {
    const byTopic = new Map<string, EncodedEvent[]>();
    for (const event of events) {
      const topic = this.topics[EventCatalog[event.type].topic];
      const encoded = encodeEvent(event);
      const messages = byTopic.get(topic);
      if (messages) {
        messages.push(encoded);
      } else {
        byTopic.set(topic, [encoded]);
      }
    }
    await this.sendRaw([...byTopic].map(([topic, messages]) => ({ topic, messages })));
    this.logPublished(events, byTopic);
  }

  /** A relay publishes hundreds of events a batch: a line for each at info would cost more than publishing them. */
  private logPublished(
    events: readonly AnyCardEvent[],
    byTopic: ReadonlyMap<string, readonly unknown[]>,
  ): void {
    const logger = this.logger;
    if (!logger) {
      return;
    }
    const [only] = events;
    if (events.length === 1 && only) {
      logger.info(this.publishedFields(only), 'event published');
      return;
    }
    logger.info(
      {
        events: events.length,
        topics: Object.fromEntries([...byTopic].map(([topic, messages]) => [topic, messages.length])),
      },
      'events published',
    );
    if (logger.isLevelEnabled('debug')) {
      for (const event of events) {
        logger.debug(this.publishedFields(event), 'event published');
      }
    }
  }

  private publishedFields(event: AnyCardEvent): Record<string, unknown> {
    return {
      eventId: event.id,
      type: event.type,
      cardId: event.subject,
      correlationId: event.correlationId,
      topic: this.topics[EventCatalog[event.type].topic],
    };
  }

  /** Sends already-encoded messages (dead letters, replays); the same guarantees as publish. */
  async sendRaw(
    batches: readonly {
      topic: string;
      messages: readonly { key: Buffer | string | null; value: Buffer | string | null; headers: IHeaders }[];
    }[],
  ): Promise<void> {
    const topicMessages = batches.map(({ topic, messages }) => ({ topic, messages: [...messages] }));
    const send = this.sending.then(() => this.sendWithRetries(topicMessages));
    this.sending = send.catch(() => undefined);
    await send;
  }

  private async sendWithRetries(topicMessages: { topic: string; messages: Message[] }[]): Promise<void> {
    const attempts = Math.max(1, this.options.sendAttempts ?? 5);
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.connect();
        await this.producer.sendBatch({ acks: -1, topicMessages });
        return;
      } catch (error) {
        await this.startNewProducerSession();
        if (attempt >= attempts) {
          throw error;
        }
        this.logger?.warn(
          { err: error, attempt },
          'send failed; sending the batch again on a new producer session',
        );
        await sleep(backoffDelayMs(attempt, SEND_RETRY_BACKOFF, Number.POSITIVE_INFINITY));
      }
    }
  }

  async disconnect(): Promise<void> {
    // Publishes still waiting for their batch are sent first: their callers are owed an answer.
    this.sendPending();
    await Promise.allSettled([...this.inFlight]);
    if (this.connected) {
      this.connected = undefined;
      await this.producer.disconnect();
    }
  }

  /**
   * After a failed send the producer's connections may hang on a broker that is gone or cut off (kafkajs sends to the
   * same connection until TCP gives up, minutes), and its metadata may name old leaders: a new producer starts from
   * fresh connections and metadata.
   */
  private async startNewProducerSession(): Promise<void> {
    const previous = this.producer;
    const wasConnected = this.connected !== undefined;
    this.producer = this.createProducer();
    this.connected = undefined;
    if (wasConnected) {
      await previous.disconnect().catch(() => undefined);
    }
  }

  private createProducer(): Producer {
    return this.kafka.producer({
      // See the class comment: a failed send is retried here, whole, on a new producer.
      idempotent: false,
      retry: { retries: 0 },
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      // Java-compatible murmur2 hashing: a card id maps to the same partition as Kafka's own tools would pick.
      createPartitioner: Partitioners.DefaultPartitioner,
    });
  }
}
