import { randomBytes } from 'node:crypto';

import type { Kafka } from 'kafkajs';

/** The brokers global set-up provisioned. */
export function testKafkaBrokers(): string[] {
  const brokers = process.env['TEST_KAFKA_BROKERS'];
  if (!brokers) {
    throw new Error(
      'TEST_KAFKA_BROKERS is not set: run integration tests through the jest integration project',
    );
  }
  return brokers.split(',');
}

/** A unique suffix for one test file's topics and consumer groups, so files never read each other's messages. */
export function uniqueSuffix(): string {
  return `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

/** Every value on `topic`, from the beginning of each partition, read by a throw-away consumer group. */
export async function readTopicValues(kafka: Kafka, topic: string): Promise<string[]> {
  const admin = kafka.admin();
  await admin.connect();
  const expected = (await admin.fetchTopicOffsets(topic)).reduce(
    (sum, { high, low }) => sum + Number(high) - Number(low),
    0,
  );
  await admin.disconnect();
  const values: string[] = [];
  if (expected === 0) {
    return values;
  }
  const consumer = kafka.consumer({ groupId: `read-topic-${uniqueSuffix()}` });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve) => {
      void consumer.run({
        eachMessage: ({ message }) => {
          values.push(message.value?.toString() ?? '');
          if (values.length >= expected) {
            resolve();
          }
          return Promise.resolve();
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return values;
}
