import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

import { EventType, type AnyCardEvent, type TopicNames } from '@cards/contracts';
import { createKafka, createLogger, KafkaEventPublisher, type EventPublisher } from '@cards/platform';
import { eventually, testKafkaBrokers, uniqueSuffix, type TestDatabase } from '@cards/test-support';
import type { Knex } from 'knex';
import { Client } from 'pg';

import { topicNames } from '../../src/config';
import { createDatabase } from '../../src/data-access/database';
import { Channels } from '../../src/data-access/notifications';
import { outboxRow } from '../../src/data-access/outbox.repository';
import { OutboxRelay } from '../../src/entry-points/jobs/outbox-relay';
import { createMigratedDatabase, testConfig } from '../support/card-api';
import { TopicRecorder } from '../support/kafka';
import { allTopicsFor } from '../support/topics';

/** A provision command for card `key`: the relay only cares about its key and its outbox id. */
function buildCommand(key: string): AnyCardEvent {
  return {
    id: randomUUID(),
    type: EventType.provisionRequested,
    source: 'card-api',
    time: new Date().toISOString(),
    subject: key,
    data: { cardId: key, color: 'gold', cardholderRef: randomUUID(), requestedAt: new Date().toISOString() },
  };
}

/**
 * Sends through the real publisher after a hook of the test's (which may write rows, or throw to fail the send), so
 * each batch stays in flight long enough for the relay to read the next one and mark the previous one meanwhile.
 */
class ScriptedPublisher implements EventPublisher {
  calls = 0;
  private sending = 0;
  /** Most sends ever in flight at once: the relay must never exceed one. */
  maxConcurrent = 0;

  constructor(
    private readonly inner: EventPublisher,
    private readonly hook: (call: number) => Promise<void>,
  ) {}

  async publish(events: readonly AnyCardEvent[]): Promise<void> {
    const call = ++this.calls;
    this.sending++;
    this.maxConcurrent = Math.max(this.maxConcurrent, this.sending);
    try {
      await this.hook(call);
      await this.inner.publish(events);
    } finally {
      this.sending--;
    }
  }
}

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

  it('when a send fails mid-pipeline, then the read-ahead is dropped and every row still goes out once, each key in id order', async () => {
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
        throw new Error('broker unavailable (injected)');
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
    // The failed batch's attempt was recorded, and its error cleared once it went out.
    const retried = await db('outbox')
      .whereIn('key', keys)
      .where('attempts', 1)
      .select<{ last_error: string | null }[]>('last_error');
    expect(retried).toHaveLength(5);
    expect(retried.every((entry) => entry.last_error === null)).toBe(true);
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
