import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

import type { AnyCardEvent, TopicNames } from '@cards/contracts';
import { createKafka, KafkaEventPublisher, type EventPublisher } from '@cards/messaging';
import { createLogger } from '@cards/runtime';
import { eventually, testKafkaBrokers, uniqueSuffix, type TestDatabase } from '@cards/test-support';
import { KafkaJSConnectionError } from 'kafkajs';
import type { Knex } from 'knex';
import { Client } from 'pg';

import { topicNames } from '../../src/config';
import { createDatabase } from '../../src/data-access/database';
import { Channels } from '../../src/data-access/notifications';
import { outboxRow } from '../../src/data-access/outbox.repository';
import { OutboxRelay } from '../../src/entry-points/jobs/outbox-relay';
import { createMigratedDatabase, testConfig } from '../support/card-api';
import { buildCommand, ScriptedPublisher } from '../support/outbox';
import { TopicRecorder } from '../support/kafka';
import { allTopicsFor } from '../support/topics';

describe('outbox relay pipeline (read N+1 and mark N-1 while N is sent)', () => {
  let database: TestDatabase;
  let db: Knex;
  let topics: TopicNames;
  let kafkaPublisher: KafkaEventPublisher;
  let commands: TopicRecorder;
  const silent = createLogger({ service: 'test', level: 'silent' });

  beforeAll(async () => {
    const suffix = uniqueSuffix();
    const topicEnv = {
      TOPIC_PROVISIONING_COMMANDS: `test.commands.${suffix}`,
      TOPIC_PROVISIONING_RESULTS: `test.results.${suffix}`,
    };
    await allTopicsFor(topicEnv);
    database = await createMigratedDatabase('outbox-relay-pipeline');
    db = createDatabase({ url: database.url, poolMax: 4 });
    topics = topicNames(testConfig(database.url, topicEnv));
    kafkaPublisher = new KafkaEventPublisher(
      createKafka({ clientId: 'test-relay-pipeline', brokers: testKafkaBrokers() }, silent),
      topics,
    );
    await kafkaPublisher.connect();
    commands = await new TopicRecorder(topicEnv.TOPIC_PROVISIONING_COMMANDS).start();
  });

  afterAll(async () => {
    await commands.stop();
    await kafkaPublisher.disconnect();
    await db.destroy();
    await database.drop();
  });

  /** Writes one command per key, each in its own transaction as request-card does; returns outbox id by event id. */
  async function writeRows(keys: readonly string[], written: Map<string, bigint>): Promise<void> {
    for (const key of keys) {
      const event = buildCommand(key);
      const [row] = await db('outbox').insert(outboxRow(event, topics)).returning<{ id: string }[]>('id');
      written.set(event.id, BigInt(row?.id ?? '0'));
    }
    await db.raw(/* sql */ 'SELECT pg_notify(?, ?)', [Channels.outbox, '']);
  }

  function startRelay(
    publisher: EventPublisher,
    options: { lingerMs?: number; batchSize?: number } = {},
  ): OutboxRelay {
    const relay = new OutboxRelay({
      db,
      databaseUrl: database.url,
      publisher,
      logger: silent,
      batchSize: options.batchSize ?? 5,
      pollIntervalMs: 1000,
      retentionHours: 24,
      lingerMs: options.lingerMs ?? 0,
    });
    relay.start();
    return relay;
  }

  /** Waits until every written row is published and marked; asserts each went out once, each key in id order. */
  async function expectPublishedOnceInIdOrder(
    keys: readonly string[],
    written: Map<string, bigint>,
  ): Promise<void> {
    const ours = (): AnyCardEvent[] => commands.events.filter((event) => written.has(event.id));
    await eventually(
      async () => {
        expect(new Set(ours().map((event) => event.id)).size).toBe(written.size);
        const unpublished = await db('outbox')
          .whereNull('published_at')
          .count<{ count: string }[]>({ count: '*' });
        expect(Number(unpublished[0]?.count)).toBe(0);
      },
      { timeoutMs: 20_000 },
    );
    // A duplicate would come from a batch sent twice; give one a moment to show up.
    await sleep(300);
    expect(ours()).toHaveLength(written.size);
    for (const key of keys) {
      const received = ours()
        .filter((event) => event.subject === key)
        .map((event) => written.get(event.id) ?? 0n);
      const inIdOrder = [...received].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      expect(received).toEqual(inIdOrder);
    }
  }

  it('when rows are written while batches are in flight, a lower id committing late among them, then every row goes out once, each key in id order', async () => {
    const keys = Array.from({ length: 4 }, () => randomUUID());
    const written = new Map<string, bigint>();
    await writeRows([...keys, ...keys, ...keys], written);
    // A transaction that took its id before the rows below and commits only while later batches are in flight.
    const lateKey = randomUUID();
    const late = new Client({ connectionString: database.url });
    await late.connect();
    await late.query(/* sql */ 'BEGIN');
    const lateEvent = buildCommand(lateKey);
    const row = outboxRow(lateEvent, topics);
    const inserted = await late.query<{ id: string }>(
      /* sql */ 'INSERT INTO outbox (event_id, topic, key, type, event) VALUES ($1, $2, $3, $4, $5) RETURNING id',
      [row.event_id, row.topic, row.key, row.type, row.event],
    );
    written.set(lateEvent.id, BigInt(inserted.rows[0]?.id ?? '0'));
    const publisher = new ScriptedPublisher(kafkaPublisher, async (call) => {
      await sleep(50);
      if (call <= 3) {
        // Rows written while a batch is in flight: the read-ahead may or may not see them; none may be lost.
        await writeRows(keys, written);
      }
      if (call === 4) {
        await late.query(/* sql */ 'COMMIT');
        await late.query(/* sql */ 'SELECT pg_notify($1, $2)', [Channels.outbox, '']);
      }
    });

    const relay = startRelay(publisher);
    try {
      await expectPublishedOnceInIdOrder([...keys, lateKey], written);
    } finally {
      await relay.stop();
      await late.end();
    }
    expect(publisher.calls).toBeGreaterThanOrEqual(5);
    expect(publisher.maxConcurrent).toBe(1);
  });

  it('when a send fails mid-pipeline because Kafka is away, then the read-ahead is dropped, every row still goes out once, each key in id order, and no row is charged an attempt', async () => {
    const keys = Array.from({ length: 3 }, () => randomUUID());
    const written = new Map<string, bigint>();
    await writeRows([...keys, ...keys, ...keys, ...keys], written);
    const failures: unknown[] = [];
    const publisher = new ScriptedPublisher(kafkaPublisher, async (call) => {
      await sleep(50);
      if (call <= 4) {
        await writeRows(keys, written);
      }
      if (call === 2) {
        // The second batch fails while the first is being marked and the third has been read.
        throw new KafkaJSConnectionError('Connection error: connect ECONNREFUSED (injected)');
      }
    });

    const relay = startRelay(publisher);
    relay.signals.on('publish-failed', (error) => failures.push(error));
    try {
      await expectPublishedOnceInIdOrder(keys, written);
    } finally {
      await relay.stop();
    }
    expect(failures).toHaveLength(1);
    expect(publisher.maxConcurrent).toBe(1);
    // An outage is nobody's row's fault: no attempt counted, and the error noted meanwhile is cleared.
    const rows = await db('outbox')
      .whereIn('key', keys)
      .select<{ attempts: number; last_error: string | null; quarantined_at: Date | null }[]>(
        'attempts',
        'last_error',
        'quarantined_at',
      );
    expect(rows).toHaveLength(written.size);
    expect(
      rows.every((row) => row.attempts === 0 && row.last_error === null && row.quarantined_at === null),
    ).toBe(true);
  });

  it('when a send fails for another reason, then the batch goes out row by row and every row once, each key in id order', async () => {
    const keys = Array.from({ length: 3 }, () => randomUUID());
    const written = new Map<string, bigint>();
    await writeRows([...keys, ...keys], written);
    const sizes: number[] = [];
    const publisher = new ScriptedPublisher(kafkaPublisher, async (call) => {
      await sleep(20);
      if (call === 1) {
        throw new Error('record rejected (injected, once)');
      }
    });
    const counting: EventPublisher = {
      publish: (events) => {
        sizes.push(events.length);
        return publisher.publish(events);
      },
    };

    const relay = startRelay(counting, { batchSize: 10 });
    try {
      await expectPublishedOnceInIdOrder(keys, written);
    } finally {
      await relay.stop();
    }
    // The failed batch of six, then its rows one at a time.
    expect(sizes.slice(0, 7)).toEqual([6, 1, 1, 1, 1, 1, 1]);
  });

  it('when rows trickle in after a batch that was not full, then the relay lingers and sends them as one batch', async () => {
    const keys = Array.from({ length: 6 }, () => randomUUID());
    const written = new Map<string, bigint>();
    const sizes: number[] = [];
    const publisher = new ScriptedPublisher(kafkaPublisher, () => Promise.resolve());
    const counting: EventPublisher = {
      publish: (events) => {
        sizes.push(events.length);
        return publisher.publish(events);
      },
    };
    const relay = startRelay(counting, { lingerMs: 1500, batchSize: 100 });
    try {
      await writeRows(keys.slice(0, 1), written);
      await eventually(() => {
        expect(sizes).toEqual([1]);
      });
      // Written one by one, each with its own NOTIFY, while the relay lingers after its one-row batch.
      for (const key of keys.slice(1)) {
        await writeRows([key], written);
      }
      await expectPublishedOnceInIdOrder(keys, written);
    } finally {
      await relay.stop();
    }
    expect(sizes).toEqual([1, 5]);
  });
});
