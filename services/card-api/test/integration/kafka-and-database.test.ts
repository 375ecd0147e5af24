import { createKafka, ensureTopics } from '@cards/messaging';
import { createLogger } from '@cards/runtime';
import { testKafkaBrokers, uniqueSuffix, type TestDatabase } from '@cards/test-support';
import type { Consumer, Producer } from 'kafkajs';
import type { Knex } from 'knex';

import { createDatabase } from '../../src/data-access/database';
import { createMigratedDatabase } from '../support/card-api';

describe('the real broker and the real database', () => {
  const suffix = uniqueSuffix();
  const topic = `test.roundtrip.${suffix}`;
  const logger = createLogger({ service: 'test', level: 'silent' });
  const kafka = createKafka({ clientId: `test-${suffix}`, brokers: testKafkaBrokers() }, logger);
  let database: TestDatabase;
  let db: Knex;
  let producer: Producer;
  let consumer: Consumer;

  beforeAll(async () => {
    database = await createMigratedDatabase('roundtrip');
    db = createDatabase({ url: database.url, poolMax: 2 });
    await ensureTopics(kafka, [topic], { partitions: 2 });
    producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    consumer = kafka.consumer({ groupId: `test-group-${suffix}`, maxWaitTimeInMs: 100 });
    await Promise.all([producer.connect(), consumer.connect()]);
  });

  afterAll(async () => {
    await Promise.all([producer.disconnect(), consumer.disconnect()]);
    await db.destroy();
    await database.drop();
  });

  it('when a message is produced, then a consumer receives it and its effect is written to PostgreSQL', async () => {
    const externalId = `user-${suffix}`;
    await consumer.subscribe({ topic, fromBeginning: true });
    const received = new Promise<string>((resolve, reject) => {
      consumer
        .run({
          eachMessage: async ({ message }) => {
            const payload = JSON.parse(String(message.value)) as { externalId: string; email: string };
            await db('users').insert({ external_id: payload.externalId, email: payload.email });
            resolve(payload.externalId);
          },
        })
        .catch(reject);
    });

    await producer.send({
      topic,
      acks: -1,
      messages: [
        { key: externalId, value: JSON.stringify({ externalId, email: `${externalId}@example.test` }) },
      ],
    });

    await expect(received).resolves.toBe(externalId);
    const rows = await db('users').where({ external_id: externalId }).select('email', 'role');
    expect(rows).toEqual([{ email: `${externalId}@example.test`, role: 'user' }]);
  });
});
