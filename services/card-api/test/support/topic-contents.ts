import { createKafka } from '@cards/messaging';
import { createLogger } from '@cards/runtime';
import { eventually, testKafkaBrokers, uniqueSuffix } from '@cards/test-support';

import { headersOf } from './kafka';

/** A Kafka message as it sits on the topic: nothing decoded, nothing validated. */
export interface RawMessage {
  topic: string;
  key: string | null;
  value: string | null;
  headers: Record<string, string>;
}

/**
 * Every message the topics hold right now, raw. The end offsets are read first, so the wait is for a known count
 * rather than for quiet; messages produced later may or may not be included.
 */
export async function readWholeTopics(topics: readonly string[]): Promise<RawMessage[]> {
  const kafka = createKafka(
    { clientId: 'test-topic-contents', brokers: testKafkaBrokers() },
    createLogger({ service: 'test', level: 'silent' }),
  );
  const admin = kafka.admin();
  await admin.connect();
  let expected = 0;
  try {
    for (const topic of topics) {
      for (const partition of await admin.fetchTopicOffsets(topic)) {
        expected += Number(partition.high) - Number(partition.low);
      }
    }
  } finally {
    await admin.disconnect();
  }
  if (expected === 0) {
    return [];
  }

  const messages: RawMessage[] = [];
  const consumer = kafka.consumer({ groupId: `test-topic-contents-${uniqueSuffix()}`, maxWaitTimeInMs: 100 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [...topics], fromBeginning: true });
    await consumer.run({
      eachMessage: ({ topic, message }) => {
        messages.push({
          topic,
          key: message.key?.toString() ?? null,
          value: message.value?.toString() ?? null,
          headers: headersOf(message.headers),
        });
        return Promise.resolve();
      },
    });
    await eventually(
      () => {
        if (messages.length < expected) {
          throw new Error(`read ${messages.length} of ${expected} messages`);
        }
      },
      { timeoutMs: 20_000 },
    );
  } finally {
    await consumer.disconnect();
  }
  return messages;
}
