import { setTimeout as sleep } from 'node:timers/promises';

import { encodeEvent } from '@cards/contracts';
import { createLogger } from '@cards/runtime';
import { eventually, provisionedEvent, testKafkaBrokers, uniqueSuffix } from '@cards/test-support';

import { createKafka, startEventConsumer, type RunningConsumer } from '../../src';

/**
 * A backlog larger than a partition's in-flight bound: the keyed consumer takes part of each fetched batch, pauses
 * the partition, and must come back for the rest. Every message must reach its handler, and the committed offset
 * must never pass one that did not.
 */
describe('the keyed consumer under a backlog', () => {
  const logger = createLogger({ service: 'test', level: 'silent' });
  const kafka = createKafka({ clientId: 'keyed-backlog', brokers: testKafkaBrokers() }, logger);
  const topic = `keyed-backlog.${uniqueSuffix()}`;
  const groupId = `keyed-backlog.${uniqueSuffix()}`;
  let consumer: RunningConsumer | undefined;

  beforeAll(async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [
        { topic, numPartitions: 1 },
        { topic: `${topic}.dlq`, numPartitions: 1 },
      ],
    });
    await admin.disconnect();
  });

  afterAll(async () => {
    await consumer?.stop();
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [topic, `${topic}.dlq`] }).catch(() => undefined);
    await admin.disconnect();
  });

  it('when 1,000 events wait on one partition and 10 may be in hand, then every one is handled and the commit reaches the end', async () => {
    const count = 1000;
    const events = Array.from({ length: count }, () => provisionedEvent());
    const producer = kafka.producer();
    await producer.connect();
    for (let start = 0; start < count; start += 500) {
      await producer.send({ topic, messages: events.slice(start, start + 500).map(encodeEvent) });
    }
    await producer.disconnect();

    const handled = new Set<string>();
    consumer = await startEventConsumer({
      kafka,
      groupId,
      topics: [topic],
      logger,
      maxInFlightPerPartition: 10,
      handle: async (event) => {
        await sleep(1 + Math.random() * 4);
        handled.add(event.id);
      },
    });

    const admin = kafka.admin();
    await admin.connect();
    try {
      await eventually(
        async () => {
          const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
          expect(offsets?.partitions[0]?.offset).toBe(String(count));
        },
        { timeoutMs: 60_000 },
      );
    } finally {
      await admin.disconnect();
    }
    const missing = events.filter((event) => !handled.has(event.id)).length;
    expect(missing).toBe(0);
  }, 90_000);
});
