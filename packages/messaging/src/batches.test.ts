import { deadLetterTopic } from '@cards/contracts';
import type { ConsumerRunConfig, EachBatchPayload, IHeaders, Kafka, KafkaMessage } from 'kafkajs';

import { cardEvent, kafkaMessage } from '../test/support/kafka-messages';
import { createLogger } from '@cards/runtime';
import {
  DeadLetterHeaders,
  headersToStrings,
  startEventConsumer,
  type BatchDelivery,
  type EventConsumerOptions,
} from '.';

const TOPIC = 'test.results';
const logger = createLogger({ service: 'test', level: 'silent' });

/** Stands in for a kafkajs consumer in batch mode: a test hands it batches and reads what it resolved. */
class FakeBatchConsumer {
  readonly events = { GROUP_JOIN: 'consumer.group_join', CRASH: 'consumer.crash' } as const;
  runConfig: ConsumerRunConfig | undefined;
  running = true;
  stale = false;
  heartbeats = 0;

  connect = (): Promise<void> => Promise.resolve();
  subscribe = (): Promise<void> => Promise.resolve();
  run = (config: ConsumerRunConfig): Promise<void> => {
    this.runConfig = config;
    return Promise.resolve();
  };
  on = (): (() => void) => () => undefined;
  pause = (): void => undefined;
  resume = (): void => undefined;
  disconnect = (): Promise<void> => Promise.resolve();

  /** Hands a batch to eachBatch as kafkajs would; returns the offsets resolved (what kafkajs would commit). */
  async deliver(partition: number, messages: KafkaMessage[]): Promise<string[]> {
    const eachBatch = this.runConfig?.eachBatch;
    if (!eachBatch) {
      throw new Error('the consumer does not run eachBatch');
    }
    const resolved: string[] = [];
    const payload = {
      batch: { topic: TOPIC, partition, messages },
      resolveOffset: (offset: string) => {
        resolved.push(offset);
      },
      heartbeat: () => {
        this.heartbeats += 1;
        return Promise.resolve();
      },
      isRunning: () => this.running,
      isStale: () => this.stale,
    } as unknown as EachBatchPayload;
    await eachBatch(payload);
    return resolved;
  }
}

function garbage(offset: number): KafkaMessage {
  return {
    offset: String(offset),
    key: Buffer.from('k'),
    value: Buffer.from('{not json'),
    headers: {},
    timestamp: String(Date.now()),
    attributes: 0,
  };
}

async function setUp(
  handleBatch: (deliveries: readonly BatchDelivery[]) => Promise<void>,
  overrides: Partial<EventConsumerOptions> = {},
) {
  const fake = new FakeBatchConsumer();
  const deadLetters: { topic: string; offset: unknown; reason: unknown }[] = [];
  const publisher = {
    connect: () => Promise.resolve(),
    sendRaw: (
      batches: readonly { topic: string; messages: readonly { headers: Record<string, unknown> }[] }[],
    ) => {
      for (const { topic, messages } of batches) {
        deadLetters.push(
          ...messages.map((dead) => ({
            topic,
            offset: dead.headers[DeadLetterHeaders.sourceOffset],
            reason: dead.headers[DeadLetterHeaders.reason],
          })),
        );
      }
      return Promise.resolve();
    },
  };
  const running = await startEventConsumer({
    kafka: { consumer: () => fake } as unknown as Kafka,
    groupId: 'test-group',
    topics: [TOPIC],
    logger,
    handleBatch,
    publisher,
    retryBackoffMs: 1,
    maxAttempts: 3,
    ...overrides,
  });
  const handled: string[] = [];
  running.signals.on('handled', (event) => handled.push(event.id));
  return { fake, running, deadLetters, handled };
}

describe('startEventConsumer in batch mode (handleBatch)', () => {
  it('when a batch arrives, then its events go to one handleBatch call in offset order and the batch is resolved once applied', async () => {
    const calls: string[][] = [];
    const { fake, handled } = await setUp((deliveries) => {
      calls.push(deliveries.map(({ event }) => event.id));
      return Promise.resolve();
    });
    const events = [cardEvent(), cardEvent(), cardEvent()];

    const resolved = await fake.deliver(
      0,
      events.map((event, offset) => kafkaMessage(offset, event)),
    );

    expect(calls).toEqual([events.map((event) => event.id)]);
    expect(resolved).toEqual(['2']);
    expect(handled).toEqual(events.map((event) => event.id));
    expect(fake.runConfig?.autoCommit).toBe(true);
    expect(fake.runConfig?.eachBatchAutoResolve).toBe(false);
  });

  it('when a batch holds a message that is not one of our events, then it alone is dead-lettered and its neighbours are applied together', async () => {
    const calls: string[][] = [];
    const { fake, deadLetters } = await setUp((deliveries) => {
      calls.push(deliveries.map(({ event }) => event.id));
      return Promise.resolve();
    });
    const [first, last] = [cardEvent(), cardEvent()];

    const resolved = await fake.deliver(1, [kafkaMessage(10, first), garbage(11), kafkaMessage(12, last)]);

    expect(calls).toEqual([[first.id, last.id]]);
    expect(deadLetters.map(({ topic, offset }) => ({ topic, offset }))).toEqual([
      { topic: deadLetterTopic(TOPIC), offset: '11' },
    ]);
    expect(String(deadLetters[0]?.reason)).not.toBe('');
    expect(resolved).toEqual(['12']);
  });

  it('when a batch fails because of one event, then its events are applied one at a time and only the poison one is dead-lettered', async () => {
    const poison = cardEvent();
    const applied: string[] = [];
    const calls: number[] = [];
    const { fake, deadLetters } = await setUp((deliveries) => {
      calls.push(deliveries.length);
      if (deliveries.some(({ event }) => event.id === poison.id)) {
        return Promise.reject(new Error('violates a rule'));
      }
      applied.push(...deliveries.map(({ event }) => event.id));
      return Promise.resolve();
    });
    const before = cardEvent();
    const after = cardEvent();

    const resolved = await fake.deliver(0, [
      kafkaMessage(0, before),
      kafkaMessage(1, poison),
      kafkaMessage(2, after),
    ]);

    // One batch call, then one call per event: the poison one three times (maxAttempts).
    expect(calls).toEqual([3, 1, 1, 1, 1, 1]);
    expect(applied).toEqual([before.id, after.id]);
    expect(deadLetters.map(({ topic, offset }) => ({ topic, offset }))).toEqual([
      { topic: deadLetterTopic(TOPIC), offset: '1' },
    ]);
    expect(String(deadLetters[0]?.reason)).toMatch(/retries exhausted: violates a rule/);
    expect(resolved).toEqual(['2']);
  });

  it('when the database is away for longer than every attempt allows, then the batch waits, heartbeating, and is applied once it is back, nothing dead-lettered', async () => {
    const outage = Object.assign(new Error('terminating connection due to administrator command'), {
      code: '57P01',
    });
    let calls = 0;
    const { fake, deadLetters, handled, running } = await setUp(
      () => {
        calls += 1;
        // Ten failed tries against maxAttempts 3: an outage that outlasts any per-message budget.
        return calls <= 10 ? Promise.reject(outage) : Promise.resolve();
      },
      { unavailableMaxBackoffMs: 2 },
    );
    const rounds: number[] = [];
    running.signals.on('unavailable', (_event, _context, _error, round) => rounds.push(round));
    const events = [cardEvent(), cardEvent()];

    const resolved = await fake.deliver(
      0,
      events.map((event, offset) => kafkaMessage(offset, event)),
    );

    expect(calls).toBe(11);
    expect(deadLetters).toEqual([]);
    expect(handled).toEqual(events.map((event) => event.id));
    expect(resolved).toEqual(['1']);
    expect(rounds.at(-1)).toBe(10);
    expect(fake.heartbeats).toBeGreaterThanOrEqual(1);
  });

  it('when the database stays away and the consumer stops, then the batch is left unresolved for the next owner', async () => {
    const { fake, running, deadLetters } = await setUp(
      () => Promise.reject(new Error('Connection terminated unexpectedly')),
      { unavailableMaxBackoffMs: 2 },
    );
    running.signals.on('unavailable', (_event, _context, _error, round) => {
      if (round === 5) {
        void running.stop();
      }
    });

    const resolved = await fake.deliver(0, [kafkaMessage(0, cardEvent())]);

    expect(resolved).toEqual([]);
    expect(deadLetters).toEqual([]);
  });

  it('when a fetched batch is larger than maxBatchSize, then it is applied in slices, each resolved after it is applied', async () => {
    const sizes: number[] = [];
    const { fake } = await setUp(
      (deliveries) => {
        sizes.push(deliveries.length);
        return Promise.resolve();
      },
      { maxBatchSize: 2 },
    );
    const events = [cardEvent(), cardEvent(), cardEvent(), cardEvent(), cardEvent()];

    const resolved = await fake.deliver(
      0,
      events.map((event, offset) => kafkaMessage(offset, event)),
    );

    expect(sizes).toEqual([2, 2, 1]);
    expect(resolved).toEqual(['1', '3', '4']);
  });

  it('when the partition is taken away while a slice is applied, then the rest of the batch is neither applied nor resolved', async () => {
    const sizes: number[] = [];
    const { fake } = await setUp(
      (deliveries) => {
        sizes.push(deliveries.length);
        // A rebalance gives the partition to another member while this slice is applied.
        fake.stale = true;
        return Promise.resolve();
      },
      { maxBatchSize: 2 },
    );
    const events = [cardEvent(), cardEvent(), cardEvent(), cardEvent()];

    const resolved = await fake.deliver(
      0,
      events.map((event, offset) => kafkaMessage(offset, event)),
    );

    expect(sizes).toEqual([2]);
    // The applied slice is resolved (its effects are durable); the rest is the next owner's.
    expect(resolved).toEqual(['1']);
  });

  it('when the handler fails and the consumer is stopping, then nothing is resolved and the batch is left for the next owner', async () => {
    const { fake, running } = await setUp(() => Promise.reject(new Error('database gone')), {
      isDeferral: () => true,
    });
    const abandonedOrDeferred: string[] = [];
    running.signals.on('deferred', (event) => abandonedOrDeferred.push(event.id));
    const event = cardEvent();

    const delivery = fake.deliver(0, [kafkaMessage(0, event)]);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await running.stop();
    const resolved = await delivery;

    expect(abandonedOrDeferred.length).toBeGreaterThan(0);
    expect(resolved).toEqual([]);
  });
});

describe('startEventConsumer fetch settings', () => {
  it('when minBytes is given, then the kafkajs consumer waits for that many bytes (up to maxWaitTimeInMs) per fetch', async () => {
    const fake = new FakeBatchConsumer();
    const asked: Record<string, unknown>[] = [];
    await startEventConsumer({
      kafka: {
        consumer: (config: Record<string, unknown>) => {
          asked.push(config);
          return fake;
        },
      } as unknown as Kafka,
      groupId: 'test-group',
      topics: [TOPIC],
      logger,
      handleBatch: () => Promise.resolve(),
      publisher: { connect: () => Promise.resolve(), sendRaw: () => Promise.resolve() },
      minBytes: 16_384,
      maxWaitTimeInMs: 40,
    });

    expect(asked).toEqual([expect.objectContaining({ minBytes: 16_384, maxWaitTimeInMs: 40 })]);
  });
});

describe('headersToStrings', () => {
  it('when a header came without a value (null from kafkajs), then it is absent instead of breaking the decode', () => {
    const headers = { ce_id: Buffer.from('1'), empty: null, repeated: [Buffer.from('a'), Buffer.from('b')] };

    expect(headersToStrings(headers as unknown as IHeaders)).toEqual({ ce_id: '1', repeated: 'a' });
  });
});
