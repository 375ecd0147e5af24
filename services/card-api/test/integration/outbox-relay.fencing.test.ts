import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

import type { AnyCardEvent, TopicNames } from '@cards/contracts';
import { type EventPublisher } from '@cards/messaging';
import { createLogger } from '@cards/runtime';
import {
  eventually,
  proxyInFrontOf,
  uniqueSuffix,
  type TcpProxy,
  type TestDatabase,
} from '@cards/test-support';
import type { Knex } from 'knex';

import { topicNames } from '../../src/config';
import { createDatabase } from '../../src/data-access/database';
import { Channels } from '../../src/data-access/notifications';
import { outboxRow } from '../../src/data-access/outbox.repository';
import { OutboxRelay } from '../../src/entry-points/jobs/outbox-relay';
import { createMigratedDatabase, testConfig } from '../support/card-api';
import { buildCommand } from '../support/outbox';

/** Records what a relay sends, without a broker: fencing is about which relay sends, not about Kafka. */
class RecordingPublisher implements EventPublisher {
  readonly sent: AnyCardEvent[] = [];

  publish(events: readonly AnyCardEvent[]): Promise<void> {
    this.sent.push(...events);
    return Promise.resolve();
  }
}

describe('outbox relay fencing (a relay whose lock session died silently publishes nothing more)', () => {
  let database: TestDatabase;
  let db: Knex;
  let topics: TopicNames;
  let proxy: TcpProxy;
  let urlViaProxy: string;
  const silent = createLogger({ service: 'test', level: 'silent' });
  const relays: OutboxRelay[] = [];

  beforeAll(async () => {
    database = await createMigratedDatabase('outbox-relay-fencing');
    db = createDatabase({ url: database.url, poolMax: 4 });
    topics = topicNames(
      testConfig(database.url, {
        TOPIC_PROVISIONING_COMMANDS: `test.commands.${uniqueSuffix()}`,
        TOPIC_PROVISIONING_RESULTS: `test.results.${uniqueSuffix()}`,
      }),
    );
    ({ proxy, url: urlViaProxy } = await proxyInFrontOf(database.url));
  });

  afterAll(async () => {
    await Promise.all(relays.map((relay) => relay.stop()));
    await proxy.stop();
    await db.destroy();
    await database.drop();
  });

  function startRelay(databaseUrl: string, publisher: EventPublisher): OutboxRelay {
    const relay = new OutboxRelay({
      // The pool goes straight to the database: only the lock session's link dies.
      db,
      databaseUrl,
      publisher,
      logger: silent,
      batchSize: 50,
      pollIntervalMs: 200,
      retentionHours: 24,
      sessionTimeoutMs: 1500,
    });
    relays.push(relay);
    relay.start();
    return relay;
  }

  async function writeRows(count: number): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const event = buildCommand(randomUUID());
      await db('outbox').insert(outboxRow(event, topics));
      ids.push(event.id);
    }
    await db.raw(/* sql */ 'SELECT pg_notify(?, ?)', [Channels.outbox, '']);
    return ids;
  }

  it('when the active relay’s lock session dies silently and a standby takes over, then only the standby publishes what comes after', async () => {
    const old = new RecordingPublisher();
    const oldRelay = startRelay(urlViaProxy, old);
    await new Promise<void>((resolve) => oldRelay.signals.once('leader', resolve));
    const before = await writeRows(3);
    await eventually(() => {
      expect(old.sent.map((event) => event.id)).toEqual(before);
    });
    const oldLostLeadership = new Promise<void>((resolve) =>
      oldRelay.signals.once('leadership-lost', resolve),
    );

    // The database sees the session end (and frees the lock); the old relay is not told and believes it leads.
    proxy.silence();
    const lockFreed = eventually(async () => {
      const { rows } = await db.raw<{ rows: unknown[] }>(
        /* sql */ `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'outbox-relay %'`,
      );
      expect(rows).toEqual([]);
    });
    await lockFreed;
    const after = await writeRows(5);
    // Longer than the old relay's poll interval: unfenced, it would read the new rows through its pool and send them.
    await sleep(1000);
    const standby = new RecordingPublisher();
    startRelay(database.url, standby);

    await eventually(() => {
      expect(standby.sent.map((event) => event.id)).toEqual(after);
    });
    await oldLostLeadership;
    expect(old.sent.map((event) => event.id)).toEqual(before);
    const unpublished = await db('outbox')
      .whereNull('published_at')
      .count<{ count: string }[]>({ count: '*' });
    expect(Number(unpublished[0]?.count)).toBe(0);
  });
});
