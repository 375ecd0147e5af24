import {
  EventCatalog,
  encodeEvent,
  Topics,
  type AnyCardEvent,
  type EncodedEvent,
  type TopicNames,
} from '@cards/contracts';
import { Partitioners, type IHeaders, type Kafka, type Producer } from 'kafkajs';
import type { Logger } from 'pino';

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
 * The producer side of the Kafka port: idempotent (no duplicates from its own retries), acks=all, and topics are
 * never auto-created. kafkajs marks its idempotent producer experimental, which is one more reason it stays here.
 *
 * With `batching`, concurrent `publish` calls are sent together: the first waits up to `lingerMs` (or until
 * `maxEvents` are waiting), then one produce request carries them all, and each call resolves or rejects with that
 * request's outcome. The idempotent producer sends one request at a time, so a caller publishing one event at a
 * time (the worker, a result per command) otherwise pays a broker round trip per event.
 */
export class KafkaEventPublisher implements EventPublisher {
  private producer: Producer;
  private connected: Promise<void> | undefined;
  private pending: PendingPublish[] = [];
  private pendingEvents = 0;
  private lingerTimer: NodeJS.Timeout | undefined;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly kafka: Kafka,
    private readonly topics: TopicNames = Topics,
    /**
     * When given, each publish gets an info line: naming the event's card and request id (the saga's trail) when
     * it is one event, counting them when it is a batch, whose events then get a debug line each.
     */
    private readonly logger?: Logger,
    private readonly options: { batching?: PublishBatching } = {},
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
    await this.connect();
    try {
      await this.producer.sendBatch({
        acks: -1,
        topicMessages: batches.map(({ topic, messages }) => ({ topic, messages: [...messages] })),
      });
    } catch (error) {
      await this.startNewProducerSession();
      throw error;
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
   * After a failed send the broker may have written the batch even though its acknowledgement was lost, while
   * kafkajs has rolled its sequence numbers back. The caller's next batch then starts at a sequence the broker has
   * already seen, but with other messages: the broker answers OUT_OF_ORDER_SEQUENCE_NUMBER to it and to every batch
   * after it, and kafkajs never recovers. A new producer gets a new producer id and starts its sequences afresh; the
   * price is that the retried batch may land twice, which at-least-once delivery (and every consumer's inbox)
   * already allows.
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
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      // Java-compatible murmur2 hashing: a card id maps to the same partition as Kafka's own tools would pick.
      createPartitioner: Partitioners.DefaultPartitioner,
    });
  }
}
