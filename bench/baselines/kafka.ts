/**
 * The Kafka baselines, with kafkajs used bare on the same broker and with the settings our processes use
 * (a producer that is not idempotent, acks=all, one request in flight; consumers with maxWaitTimeInMs 100), so a
 * ratio shows what our code adds, not a different client configuration.
 */
import { performance } from 'node:perf_hooks';

import { Partitioners, type Kafka, type Producer } from 'kafkajs';

import { openLoop } from '../lib/load.ts';

function producer(kafka: Kafka): Producer {
  return kafka.producer({
    idempotent: false,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
}

/** A message as the relay sends one: the event's data as value, CloudEvents attributes as headers. */
export interface RawMessage {
  key: string;
  value: string;
  headers: Record<string, string>;
}

/**
 * Two hops, as the saga has (relay → worker, worker → consumer): a producer sends at `rate` per second (open loop),
 * a consumer takes each message and produces it again to a second topic, a second consumer takes it there. The
 * latency of each message is from its scheduled send to its arrival on the second topic.
 */
export async function kafkaTwoHopRoundTrip(options: {
  kafka: Kafka;
  topics: [string, string];
  groupPrefix: string;
  rate: number;
  seconds: number;
}): Promise<{ latenciesMs: number[]; sent: number; lost: number }> {
  const [first, second] = options.topics;
  const source = producer(options.kafka);
  const relay = producer(options.kafka);
  const hop = options.kafka.consumer({ groupId: `${options.groupPrefix}.hop`, maxWaitTimeInMs: 100 });
  const sink = options.kafka.consumer({ groupId: `${options.groupPrefix}.sink`, maxWaitTimeInMs: 100 });
  const scheduled = new Map<string, number>();
  const latenciesMs: number[] = [];
  try {
    await Promise.all([source.connect(), relay.connect(), hop.connect(), sink.connect()]);
    await hop.subscribe({ topic: first, fromBeginning: true });
    await sink.subscribe({ topic: second, fromBeginning: true });
    const joined = (consumer: typeof hop): Promise<void> =>
      new Promise((resolve) => {
        consumer.on(consumer.events.GROUP_JOIN, () => {
          resolve();
        });
      });
    const bothJoined = Promise.all([joined(hop), joined(sink)]);
    await hop.run({
      eachMessage: async ({ message }) => {
        await relay.send({
          topic: second,
          acks: -1,
          messages: [{ key: message.key, value: message.value, headers: message.headers }],
        });
      },
    });
    await sink.run({
      eachMessage: ({ message }) => {
        const key = message.key?.toString() ?? '';
        const startedAt = scheduled.get(key);
        if (startedAt !== undefined) {
          latenciesMs.push(performance.now() - startedAt);
          scheduled.delete(key);
        }
        return Promise.resolve();
      },
    });
    await bothJoined;
    // A few messages round the loop first: partition leaders known, fetches flowing, nothing cold in the figures.
    for (let warm = 0; warm < 20; warm += 1) {
      const key = `warm-${warm}`;
      scheduled.set(key, performance.now());
      await source.send({ topic: first, acks: -1, messages: [{ key, value: '{}' }] });
    }
    const warmDeadline = performance.now() + 30_000;
    while (scheduled.size > 0 && performance.now() < warmDeadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    latenciesMs.length = 0;
    scheduled.clear();
    const value = JSON.stringify({ cardId: 'x', color: 'gold' });
    // Messages due in the same tick go in one request, as the relay sends what it found in one batch: one request
    // per message, one in flight at a time, would make the baseline's producer its bottleneck.
    const due: { key: string; value: string }[] = [];
    const { sent } = await openLoop(options.rate, options.seconds, (index, scheduledAt) => {
      const key = `m-${index}`;
      scheduled.set(key, scheduledAt);
      due.push({ key, value });
      if (due.length === 1) {
        setImmediate(() => {
          void source.send({ topic: first, acks: -1, messages: due.splice(0) }).catch(() => undefined);
        });
      }
    });
    const deadline = performance.now() + 30_000;
    while (scheduled.size > 0 && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return { latenciesMs, sent, lost: scheduled.size };
  } finally {
    await Promise.allSettled([hop.disconnect(), sink.disconnect(), source.disconnect(), relay.disconnect()]);
  }
}

/** Sends `messages` in batches of `batchSize`, one batch after another (as the relay does); returns the seconds. */
export async function bareProducerSend(options: {
  kafka: Kafka;
  topic: string;
  messages: readonly RawMessage[];
  batchSize: number;
}): Promise<number> {
  const sender = producer(options.kafka);
  await sender.connect();
  try {
    const started = performance.now();
    for (let offset = 0; offset < options.messages.length; offset += options.batchSize) {
      await sender.sendBatch({
        acks: -1,
        topicMessages: [
          { topic: options.topic, messages: options.messages.slice(offset, offset + options.batchSize) },
        ],
      });
    }
    return (performance.now() - started) / 1000;
  } finally {
    await sender.disconnect();
  }
}
