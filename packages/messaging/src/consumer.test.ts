import { randomUUID } from 'node:crypto';
import { setImmediate as flush } from 'node:timers/promises';

import { deadLetterTopic, type AnyCardEvent } from '@cards/contracts';
import {
  KafkaJSConnectionError,
  type ConsumerRunConfig,
  type EachBatchPayload,
  type Kafka,
  type KafkaMessage,
} from 'kafkajs';

import { DeadLetterHeaders, KafkaEventPublisher, startEventConsumer, type EventConsumerOptions } from '.';
import { cardEvent, kafkaMessage } from '../test/support/kafka-messages';
import { createLogger } from '@cards/runtime';

const TOPIC = 'test.commands';
const logger = createLogger({ service: 'test', level: 'silent' });

type TopicPartitions = { topic: string; partitions?: number[] }[];

/** Stands in for a kafkajs consumer: a test hands it batches and reads what it was asked to commit and pause. */
class FakeConsumer {
  readonly events = { GROUP_JOIN: 'consumer.group_join', CRASH: 'consumer.crash' } as const;
  runConfig: ConsumerRunConfig | undefined;
  readonly commits: { partition: number; offset: string }[] = [];
  readonly pauses: TopicPartitions[] = [];
  readonly resumes: TopicPartitions[] = [];
  disconnected = false;
  private readonly joinListeners: ((event: unknown) => void)[] = [];

  connect = (): Promise<void> => Promise.resolve();
  subscribe = (): Promise<void> => Promise.resolve();
  run = (config: ConsumerRunConfig): Promise<void> => {
    this.runConfig = config;
    return Promise.resolve();
  };
  on = (event: string, listener: (event: unknown) => void): (() => void) => {
    if (event === this.events.GROUP_JOIN) {
      this.joinListeners.push(listener);
    }
    return () => undefined;
  };
  commitOffsets = (offsets: { topic: string; partition: number; offset: string }[]): Promise<void> => {
    this.commits.push(...offsets.map(({ partition, offset }) => ({ partition, offset })));
    return Promise.resolve();
  };
  pause = (topics: TopicPartitions): void => {
    this.pauses.push(topics);
  };
  resume = (topics: TopicPartitions): void => {
    this.resumes.push(topics);
  };
  disconnect = (): Promise<void> => {
    this.disconnected = true;
    return Promise.resolve();
  };

  /** A rebalance that leaves this consumer the given partitions. */
  join(partitions: number[]): void {
    for (const listener of this.joinListeners) {
      listener({ payload: { memberAssignment: { [TOPIC]: partitions } } });
    }
  }

  /** Hands a batch to eachBatch and returns the offsets it resolved (where the next fetch would start). */
  async deliverBatch(partition: number, messages: KafkaMessage[]): Promise<string[]> {
    const resolved: string[] = [];
    const eachBatch = this.runConfig?.eachBatch;
    if (!eachBatch) {
      throw new Error('the consumer runs eachMessage, not eachBatch');
    }
    const payload = {
      batch: { topic: TOPIC, partition, messages },
      resolveOffset: (offset: string) => {
        resolved.push(offset);
      },
    } as unknown as EachBatchPayload;
    await eachBatch(payload);
    return resolved;
  }

  /** Hands one message to eachMessage, as kafkajs would. */
  async deliverMessage(partition: number, message: KafkaMessage): Promise<void> {
    const eachMessage = this.runConfig?.eachMessage;
    if (!eachMessage) {
      throw new Error('the consumer runs eachBatch, not eachMessage');
    }
    await eachMessage({
      topic: TOPIC,
      partition,
      message,
      heartbeat: () => Promise.resolve(),
      pause: () => () => undefined,
    });
  }
}

/** A handler each of whose calls waits until the test settles it, so a test decides what finishes when. */
class ControlledHandler {
  readonly calls: { event: AnyCardEvent; attempt: number }[] = [];
  private readonly waiting = new Map<string, { resolve: () => void; reject: (error: unknown) => void }>();

  readonly handle = (event: AnyCardEvent, context: { attempt: number }): Promise<void> => {
    this.calls.push({ event, attempt: context.attempt });
    return new Promise((resolve, reject) => {
      this.waiting.set(event.id, { resolve, reject });
    });
  };

  /** Event ids whose handler call is running now. */
  running(): string[] {
    return [...this.waiting.keys()];
  }

  async succeed(event: AnyCardEvent): Promise<void> {
    this.take(event).resolve();
    await settle();
  }

  async fail(event: AnyCardEvent, error: unknown): Promise<void> {
    this.take(event).reject(error);
    await settle();
  }

  private take(event: AnyCardEvent): { resolve: () => void; reject: (error: unknown) => void } {
    const call = this.waiting.get(event.id);
    if (!call) {
      throw new Error(`no handler call is running for ${event.id}`);
    }
    this.waiting.delete(event.id);
    return call;
  }
}

/** Waits (a few ms at a time) until `condition` holds; a test that never gets there times out. */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) {
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/** Lets every promise chain that can move on do so. */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) {
    await flush();
  }
}

class LaterError extends Error {}

async function setUp(overrides: Partial<EventConsumerOptions> = {}) {
  const fake = new FakeConsumer();
  const deadLetters: { topic: string; headers: Record<string, unknown> }[] = [];
  const publisher = {
    connect: () => Promise.resolve(),
    sendRaw: (batches: readonly { topic: string; messages: readonly { headers: object }[] }[]) => {
      for (const { topic, messages } of batches) {
        deadLetters.push(...messages.map((message) => ({ topic, headers: { ...message.headers } })));
      }
      return Promise.resolve();
    },
  };
  const handler = new ControlledHandler();
  const running = await startEventConsumer({
    kafka: { consumer: () => fake } as unknown as Kafka,
    groupId: 'test-group',
    topics: [TOPIC],
    logger,
    handle: handler.handle,
    isDeferral: (error) => error instanceof LaterError,
    publisher,
    retryBackoffMs: 5,
    ...overrides,
  });
  const deferred: string[] = [];
  const abandoned: string[] = [];
  running.signals.on('deferred', (event) => deferred.push(event.id));
  running.signals.on('abandoned', (context) => abandoned.push(context.offset));
  return { fake, handler, running, deadLetters, deferred, abandoned };
}

describe('startEventConsumer with messages in hand per key (maxInFlightPerPartition)', () => {
  it('when one message waits, then later messages of other keys on its partition are handled, and the commit stays at the waiting one', async () => {
    const { fake, handler } = await setUp({ maxInFlightPerPartition: 10 });
    const [slow, second, third] = [cardEvent(), cardEvent(), cardEvent()];

    await fake.deliverBatch(0, [kafkaMessage(0, slow), kafkaMessage(1, second), kafkaMessage(2, third)]);
    await settle();
    expect(handler.running()).toEqual([slow.id, second.id, third.id]);
    await handler.succeed(second);
    await handler.succeed(third);

    expect(fake.commits.every(({ offset }) => offset === '0')).toBe(true);
    await handler.succeed(slow);
    expect(fake.commits.at(-1)).toEqual({ partition: 0, offset: '3' });
  });

  it('when two messages share a key, then the second starts only after the first is done', async () => {
    const { fake, handler } = await setUp({ maxInFlightPerPartition: 10 });
    const cardId = randomUUID();
    const [first, second] = [cardEvent(cardId), cardEvent(cardId)];

    await fake.deliverBatch(0, [kafkaMessage(0, first), kafkaMessage(1, second)]);
    await settle();
    expect(handler.running()).toEqual([first.id]);

    await handler.succeed(first);
    expect(handler.running()).toEqual([second.id]);
    await handler.succeed(second);
    expect(fake.commits.at(-1)).toEqual({ partition: 0, offset: '2' });
  });

  it('when a partition has as many messages in hand as allowed, then it takes no more and pauses until half are done', async () => {
    const { fake, handler } = await setUp({ maxInFlightPerPartition: 2 });
    const events = [cardEvent(), cardEvent(), cardEvent()];

    const resolved = await fake.deliverBatch(
      3,
      events.map((event, offset) => kafkaMessage(offset, event)),
    );

    // The third is not resolved: the next fetch starts there.
    expect(resolved).toEqual(['0', '1']);
    expect(fake.pauses).toEqual([[{ topic: TOPIC, partitions: [3] }]]);
    await settle();
    await handler.succeed(events[0]!);
    expect(fake.resumes).toEqual([[{ topic: TOPIC, partitions: [3] }]]);
  });

  it('when the handler defers while the consumer is paused, then the message waits for resume() without using an attempt', async () => {
    const { fake, handler, running, deferred, deadLetters } = await setUp({ maxInFlightPerPartition: 10 });
    const event = cardEvent();
    running.pause();
    expect(fake.pauses).toEqual([[{ topic: TOPIC }]]);

    await fake.deliverBatch(0, [kafkaMessage(0, event)]);
    await settle();
    await handler.fail(event, new LaterError('provider down'));
    await new Promise((resolve) => setTimeout(resolve, 50));

    expect(deferred).toEqual([event.id]);
    expect(handler.calls).toHaveLength(1);
    running.resume();
    await settle();
    expect(handler.calls.map(({ attempt }) => attempt)).toEqual([1, 1]);
    await handler.succeed(event);
    expect(fake.commits.at(-1)).toEqual({ partition: 0, offset: '1' });
    expect(deadLetters).toEqual([]);
  });

  it('when the handler defers while the consumer is not paused, then the message goes to the handler again after a backoff', async () => {
    const { fake, handler, deferred } = await setUp({ maxInFlightPerPartition: 10 });
    const event = cardEvent();

    await fake.deliverBatch(0, [kafkaMessage(0, event)]);
    await settle();
    await handler.fail(event, new LaterError('provider down'));
    await new Promise((resolve) => setTimeout(resolve, 30));

    expect(deferred).toEqual([event.id]);
    expect(handler.running()).toEqual([event.id]);
  });

  it('when the consumer stops with a deferred message, then the message is abandoned uncommitted and stop resolves', async () => {
    const { fake, handler, running, abandoned } = await setUp({ maxInFlightPerPartition: 10 });
    const [waiting, done] = [cardEvent(), cardEvent()];
    running.pause();
    await fake.deliverBatch(0, [kafkaMessage(0, waiting), kafkaMessage(1, done)]);
    await settle();
    await handler.fail(waiting, new LaterError('provider down'));
    await handler.succeed(done);

    await running.stop();

    expect(abandoned).toEqual(['0']);
    expect(fake.commits.every(({ offset }) => offset === '0')).toBe(true);
    expect(fake.disconnected).toBe(true);
  });

  it('when the consumer stops during a handler call, then it waits for the call and commits its result', async () => {
    const { fake, handler, running } = await setUp({ maxInFlightPerPartition: 10 });
    const event = cardEvent();
    await fake.deliverBatch(0, [kafkaMessage(0, event)]);
    await settle();

    const stopped = running.stop();
    await settle();
    expect(fake.disconnected).toBe(false);
    await handler.succeed(event);
    await stopped;

    expect(fake.commits.at(-1)).toEqual({ partition: 0, offset: '1' });
    expect(fake.disconnected).toBe(true);
  });

  it('when a message is not one of our events, then it is dead-lettered and its offset committed', async () => {
    const { fake, deadLetters } = await setUp({ maxInFlightPerPartition: 10 });
    const poison: KafkaMessage = { ...kafkaMessage(0, cardEvent()), value: Buffer.from('{"cardId": ') };

    await fake.deliverBatch(0, [poison]);
    await settle();

    expect(deadLetters).toEqual([
      expect.objectContaining({
        topic: deadLetterTopic(TOPIC),
        headers: expect.objectContaining({ [DeadLetterHeaders.reason]: 'value is not JSON' }) as unknown,
      }),
    ]);
    expect(fake.commits.at(-1)).toEqual({ partition: 0, offset: '1' });
  });

  it('when a handler keeps failing, then it is retried in place and dead-lettered, holding up only its own key', async () => {
    const { fake, handler, deadLetters } = await setUp({ maxInFlightPerPartition: 10, maxAttempts: 2 });
    const [failing, other] = [cardEvent(), cardEvent()];
    await fake.deliverBatch(0, [kafkaMessage(0, failing), kafkaMessage(1, other)]);
    await settle();

    await handler.fail(failing, new Error('boom'));
    await handler.succeed(other);
    expect(deadLetters).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 30));
    await handler.fail(failing, new Error('boom again'));

    expect(deadLetters.map(({ headers }) => headers[DeadLetterHeaders.reason])).toEqual([
      'retries exhausted: boom again',
    ]);
    expect(fake.commits.at(-1)).toEqual({ partition: 0, offset: '2' });
  });

  it('when the broker stays away longer than every attempt allows, then the message waits without using attempts and is handled once it is back', async () => {
    const { fake, handler, deadLetters } = await setUp({
      maxInFlightPerPartition: 10,
      maxAttempts: 2,
      unavailableMaxBackoffMs: 2,
    });
    const event = cardEvent();
    await fake.deliverBatch(0, [kafkaMessage(0, event)]);
    await settle();

    for (let outage = 0; outage < 6; outage++) {
      await until(() => handler.running().includes(event.id));
      await handler.fail(event, new KafkaJSConnectionError('Connection error: connect ECONNREFUSED'));
    }
    await until(() => handler.running().includes(event.id));
    await handler.succeed(event);

    expect(deadLetters).toEqual([]);
    expect(handler.calls.map(({ attempt }) => attempt)).toEqual([1, 1, 1, 1, 1, 1, 1]);
    expect(fake.commits.at(-1)).toEqual({ partition: 0, offset: '1' });
  });

  it('when a handler error is permanent, then it is dead-lettered at once even if it looks like an outage', async () => {
    const { fake, handler, deadLetters } = await setUp({
      maxInFlightPerPartition: 10,
      isPermanent: (error) => error instanceof Error && error.message.startsWith('refused for good'),
    });
    const event = cardEvent();
    await fake.deliverBatch(0, [kafkaMessage(0, event)]);
    await settle();

    await handler.fail(event, Object.assign(new Error('refused for good'), { code: 'ECONNRESET' }));

    expect(deadLetters.map(({ headers }) => headers[DeadLetterHeaders.reason])).toEqual([
      'permanent: refused for good',
    ]);
  });

  it('when a rebalance takes a partition away, then its results are not committed, and a kept partition refetched from its commit is not handled twice', async () => {
    const { fake, handler } = await setUp({ maxInFlightPerPartition: 10 });
    const [lost, kept] = [cardEvent(), cardEvent()];
    await fake.deliverBatch(0, [kafkaMessage(0, lost)]);
    await fake.deliverBatch(1, [kafkaMessage(5, kept)]);
    await settle();

    fake.join([1]);
    const resolved = await fake.deliverBatch(1, [kafkaMessage(5, kept)]);
    await handler.succeed(lost);
    await handler.succeed(kept);

    expect(resolved).toEqual(['5']);
    expect(handler.calls).toHaveLength(2);
    expect(fake.commits.filter(({ partition }) => partition === 0)).toEqual([]);
    expect(fake.commits.at(-1)).toEqual({ partition: 1, offset: '6' });
  });
});

describe('startEventConsumer with a commit interval (commitIntervalMs)', () => {
  it('when several messages finish within the interval, then one offset commit covers them all', async () => {
    const { fake, handler } = await setUp({ maxInFlightPerPartition: 10, commitIntervalMs: 30 });
    const events = [cardEvent(), cardEvent(), cardEvent()];

    await fake.deliverBatch(
      0,
      events.map((event, offset) => kafkaMessage(offset, event)),
    );
    await settle();
    for (const event of events) {
      await handler.succeed(event);
    }
    expect(fake.commits).toEqual([]);

    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(fake.commits).toEqual([{ partition: 0, offset: '3' }]);
  });

  it('when the consumer stops before the interval ends, then what is done is committed at once', async () => {
    const { fake, handler, running } = await setUp({ maxInFlightPerPartition: 10, commitIntervalMs: 60_000 });
    const event = cardEvent();

    await fake.deliverBatch(0, [kafkaMessage(0, event)]);
    await settle();
    await handler.succeed(event);
    await running.stop();

    expect(fake.commits).toEqual([{ partition: 0, offset: '1' }]);
  });
});

describe('startEventConsumer one message at a time (the default)', () => {
  it('when the handler defers while the consumer is paused, then the message waits for resume() and is handled again', async () => {
    const { fake, handler, running, deferred } = await setUp();
    const event = cardEvent();
    running.pause();

    const delivered = fake.deliverMessage(0, kafkaMessage(0, event));
    await settle();
    await handler.fail(event, new LaterError('provider down'));
    expect(deferred).toEqual([event.id]);
    expect(handler.calls).toHaveLength(1);

    running.resume();
    await settle();
    await handler.succeed(event);
    await delivered;

    expect(handler.calls.map(({ attempt }) => attempt)).toEqual([1, 1]);
  });

  it('when the consumer stops with a deferred message, then eachMessage throws, so kafkajs does not mark it consumed', async () => {
    const { fake, handler, running, abandoned } = await setUp();
    const event = cardEvent();
    running.pause();
    const delivered = fake.deliverMessage(0, kafkaMessage(0, event));
    await settle();
    await handler.fail(event, new LaterError('provider down'));

    await running.stop();

    await expect(delivered).rejects.toThrow('the consumer is stopping');
    expect(abandoned).toEqual(['0']);
  });
});

describe('KafkaEventPublisher', () => {
  /** A Kafka whose producer records each sendBatch. */
  function fakeKafka(): { kafka: Kafka; sent: { topic: string; keys: unknown[] }[][] } {
    const sent: { topic: string; keys: unknown[] }[][] = [];
    const producer = {
      connect: () => Promise.resolve(),
      disconnect: () => Promise.resolve(),
      sendBatch: (batch: { topicMessages: { topic: string; messages: { key: unknown }[] }[] }) => {
        sent.push(
          batch.topicMessages.map(({ topic, messages }) => ({ topic, keys: messages.map((m) => m.key) })),
        );
        return Promise.resolve([]);
      },
    };
    return { kafka: { producer: () => producer } as unknown as Kafka, sent };
  }

  /** A logger at `level` writing into memory, and the lines it wrote. */
  function capturedLogger(level: string) {
    const chunks: string[] = [];
    const captured = createLogger({
      service: 'publisher-test',
      level,
      destination: { write: (chunk: string) => void chunks.push(chunk) },
    });
    const lines = () =>
      chunks
        .join('')
        .split('\n')
        .filter((line) => line.length > 0)
        .map((line) => JSON.parse(line) as { level: string; msg: string; events?: number; cardId?: string });
    return { logger: captured, lines };
  }

  it('when a batch is published, then one request carries each topic’s events in order and one info line counts them', async () => {
    const { kafka, sent } = fakeKafka();
    const { logger: info, lines } = capturedLogger('info');
    const publisher = new KafkaEventPublisher(kafka, undefined, info);
    const events = Array.from({ length: 500 }, () => cardEvent());

    await publisher.publish(events);

    expect(sent).toHaveLength(1);
    expect(sent[0]?.flatMap(({ keys }) => keys)).toEqual(events.map((event) => event.subject));
    expect(lines()).toEqual([
      expect.objectContaining({ level: 'info', msg: 'events published', events: 500 }),
    ]);
  });

  it('when the logger is at debug, then each event of a batch gets its own line too', async () => {
    const { kafka } = fakeKafka();
    const { logger: debug, lines } = capturedLogger('debug');
    const events = [cardEvent(), cardEvent()];

    await new KafkaEventPublisher(kafka, undefined, debug).publish(events);

    expect(lines().map(({ level, msg, cardId }) => ({ level, msg, cardId }))).toEqual([
      { level: 'info', msg: 'events published', cardId: undefined },
      { level: 'debug', msg: 'event published', cardId: events[0]?.subject },
      { level: 'debug', msg: 'event published', cardId: events[1]?.subject },
    ]);
  });

  it('when one event is published, then its info line names its card', async () => {
    const { kafka } = fakeKafka();
    const { logger: info, lines } = capturedLogger('info');
    const event = cardEvent();

    await new KafkaEventPublisher(kafka, undefined, info).publish([event]);

    expect(lines()).toEqual([expect.objectContaining({ msg: 'event published', cardId: event.subject })]);
  });
});

describe('KafkaEventPublisher with batching', () => {
  /** A Kafka whose producer records each sendBatch, failing those the test asks to fail. */
  function fakeKafka(options: { fail?: Error } = {}) {
    const sent: string[][] = [];
    const producer = {
      connect: () => Promise.resolve(),
      disconnect: () => Promise.resolve(),
      sendBatch: (batch: { topicMessages: { messages: { key: unknown }[] }[] }) => {
        sent.push(batch.topicMessages.flatMap(({ messages }) => messages.map((m) => String(m.key))));
        return options.fail ? Promise.reject(options.fail) : Promise.resolve([]);
      },
    };
    return { kafka: { producer: () => producer } as unknown as Kafka, sent };
  }

  it('when publishes come together within the linger, then one request carries them all, in call order, and each resolves', async () => {
    const { kafka, sent } = fakeKafka();
    const publisher = new KafkaEventPublisher(kafka, undefined, undefined, {
      batching: { lingerMs: 5, maxEvents: 100 },
    });
    const events = [cardEvent(), cardEvent(), cardEvent()];

    await Promise.all(events.map((event) => publisher.publish([event])));

    expect(sent).toEqual([events.map((event) => event.subject)]);
  });

  it('when maxEvents are waiting, then they are sent at once without waiting for the linger', async () => {
    const { kafka, sent } = fakeKafka();
    const publisher = new KafkaEventPublisher(kafka, undefined, undefined, {
      batching: { lingerMs: 60_000, maxEvents: 2 },
    });

    await Promise.all([publisher.publish([cardEvent()]), publisher.publish([cardEvent()])]);

    expect(sent).toHaveLength(1);
    expect(sent[0]).toHaveLength(2);
  });

  it('when the batch’s request fails, then every publish of the batch rejects with its error', async () => {
    const failure = new Error('broker said no');
    const { kafka } = fakeKafka({ fail: failure });
    const publisher = new KafkaEventPublisher(kafka, undefined, undefined, {
      batching: { lingerMs: 5, maxEvents: 100 },
    });

    const outcomes = await Promise.allSettled([
      publisher.publish([cardEvent()]),
      publisher.publish([cardEvent()]),
    ]);

    expect(outcomes).toEqual([
      { status: 'rejected', reason: failure },
      { status: 'rejected', reason: failure },
    ]);
  });

  it('when the publisher disconnects with publishes waiting, then they are sent first', async () => {
    const { kafka, sent } = fakeKafka();
    const publisher = new KafkaEventPublisher(kafka, undefined, undefined, {
      batching: { lingerMs: 60_000, maxEvents: 100 },
    });
    const event = cardEvent();
    const published = publisher.publish([event]);
    await publisher.connect();

    await publisher.disconnect();

    await expect(published).resolves.toBeUndefined();
    expect(sent).toEqual([[event.subject]]);
  });

  it('when batching is not asked for, then each publish is its own request', async () => {
    const { kafka, sent } = fakeKafka();
    const publisher = new KafkaEventPublisher(kafka);

    await Promise.all([publisher.publish([cardEvent()]), publisher.publish([cardEvent()])]);

    expect(sent).toHaveLength(2);
  });
});
