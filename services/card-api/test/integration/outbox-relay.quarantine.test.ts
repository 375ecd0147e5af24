import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import type { AnyCardEvent, TopicNames } from '@cards/contracts';
import { type EventPublisher } from '@cards/messaging';
import { createLogger } from '@cards/runtime';
import { eventually, uniqueSuffix, type TestDatabase } from '@cards/test-support';
import type { Knex } from 'knex';

import { topicNames } from '../../src/config';
import { createDatabase } from '../../src/data-access/database';
import { Channels } from '../../src/data-access/notifications';
import { outboxRow } from '../../src/data-access/outbox.repository';
import { OutboxRelay } from '../../src/entry-points/jobs/outbox-relay';
import { createMigratedDatabase, testConfig } from '../support/card-api';
import { runOps, type OpsRun } from '../support/ops-cli';
import { buildCommand } from '../support/outbox';

/** Records what the relay sends; refuses (as Kafka refuses a record) any event whose id is in `refused`. */
class RecordingPublisher implements EventPublisher {
  readonly sent: AnyCardEvent[] = [];
  readonly refused = new Set<string>();

  publish(events: readonly AnyCardEvent[]): Promise<void> {
    if (events.some((event) => this.refused.has(event.id))) {
      return Promise.reject(new Error('The request included a message larger than the max message size'));
    }
    this.sent.push(...events);
    return Promise.resolve();
  }
}

describe('outbox quarantine (one bad row no longer stops the relay)', () => {
  let database: TestDatabase;
  let db: Knex;
  let topics: TopicNames;
  let workDir: string;
  const silent = createLogger({ service: 'test', level: 'silent' });

  beforeAll(async () => {
    database = await createMigratedDatabase('outbox-quarantine');
    db = createDatabase({ url: database.url, poolMax: 4 });
    topics = topicNames(
      testConfig(database.url, {
        TOPIC_PROVISIONING_COMMANDS: `test.commands.${uniqueSuffix()}`,
        TOPIC_PROVISIONING_RESULTS: `test.results.${uniqueSuffix()}`,
      }),
    );
    workDir = await mkdtemp(path.join(tmpdir(), 'outbox-quarantine-'));
  });

  afterAll(async () => {
    await db.destroy();
    await database.drop();
    await rm(workDir, { recursive: true, force: true });
  });

  const ops = (args: string[]): Promise<OpsRun> => runOps(args, database.url);

  function startRelay(publisher: EventPublisher): OutboxRelay {
    const relay = new OutboxRelay({
      db,
      databaseUrl: database.url,
      publisher,
      logger: silent,
      batchSize: 50,
      pollIntervalMs: 200,
      retentionHours: 24,
      quarantineAfterAttempts: 2,
    });
    relay.start();
    return relay;
  }

  /** Writes events (or anything standing for one) in order, as separate rows; returns their outbox ids. */
  async function writeRows(events: readonly AnyCardEvent[]): Promise<string[]> {
    const ids: string[] = [];
    for (const event of events) {
      const [row] = await db('outbox').insert(outboxRow(event, topics)).returning<{ id: string }[]>('id');
      ids.push(row?.id ?? '');
    }
    await db.raw(/* sql */ 'SELECT pg_notify(?, ?)', [Channels.outbox, '']);
    return ids;
  }

  it('when a row’s event breaks the contract, then it is quarantined at once, its card’s later rows wait, the rest go out, and an operator’s fix releases them in order', async () => {
    const [a, c] = [buildCommand(randomUUID()), buildCommand(randomUUID())];
    const brokenKey = randomUUID();
    const fixed = buildCommand(brokenKey);
    // Written by a bug, say: the colour is missing.
    const broken = { ...fixed, data: { ...fixed.data, color: undefined } } as unknown as AnyCardEvent;
    const behind = buildCommand(brokenKey);
    const publisher = new RecordingPublisher();
    const relay = startRelay(publisher);
    const quarantined: string[] = [];
    relay.signals.on('quarantined', (id, reason) => quarantined.push(`${id}: ${reason}`));
    try {
      const [, brokenId] = await writeRows([a, broken, behind, c]);

      await eventually(() => {
        expect(publisher.sent.map((event) => event.id)).toEqual([a.id, c.id]);
      });
      expect(quarantined).toEqual([
        expect.stringMatching(new RegExp(`^${brokenId}: breaks the event contract`)),
      ]);
      const listed = await ops(['outbox', 'quarantined', '--json']);
      expect(listed.code).toBe(0);
      expect(
        listed.stdout
          .trim()
          .split('\n')
          .map((line) => JSON.parse(line) as unknown),
      ).toEqual([
        expect.objectContaining({
          id: brokenId,
          key: brokenKey,
          waitingBehind: 1,
          event: expect.objectContaining({ id: fixed.id }) as unknown,
        }),
      ]);
      const status = await ops(['outbox', 'status', '--json']);
      expect(JSON.parse(status.stdout)).toMatchObject({ pending: 1, quarantined: 1 });

      // A fix that changes the event's id is refused, and the row stays quarantined.
      const wrongFile = path.join(workDir, 'wrong.json');
      await writeFile(wrongFile, JSON.stringify({ ...fixed, id: randomUUID() }));
      const refused = await ops(['outbox', 'release', brokenId ?? '', '--event-file', wrongFile]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain("must keep the row's id");
      await sleep(300);
      expect(publisher.sent).toHaveLength(2);

      const fixFile = path.join(workDir, 'fixed.json');
      await writeFile(fixFile, JSON.stringify(fixed));
      // A dry run checks the fix and changes nothing; without a terminal to ask on, --yes is needed.
      const dryRun = await ops(['outbox', 'release', brokenId ?? '', '--event-file', fixFile, '--dry-run']);
      expect(dryRun.code).toBe(0);
      expect(dryRun.stdout).toContain('# dry run: would release');
      const unconfirmed = await ops(['outbox', 'release', brokenId ?? '', '--event-file', fixFile]);
      expect(unconfirmed.code).toBe(2);
      expect(unconfirmed.stderr).toContain('add --yes');
      await sleep(300);
      expect(publisher.sent).toHaveLength(2);
      const released = await ops(['outbox', 'release', brokenId ?? '', '--event-file', fixFile, '--yes']);
      expect(released.code).toBe(0);
      expect(released.stdout).toContain(`released outbox row ${brokenId} with the fixed event`);

      await eventually(() => {
        expect(publisher.sent.map((event) => event.id)).toEqual([a.id, c.id, fixed.id, behind.id]);
      });
      expect(publisher.sent[2]?.data).toEqual(fixed.data);
      const audit = await db('audit_log')
        .where({ action: 'outbox.release' })
        .select('target', 'actor_external_id');
      expect(audit).toEqual([{ target: brokenId, actor_external_id: 'ops-cli' }]);
    } finally {
      await relay.stop();
    }
  });

  it('when a valid row fails every send of its own, then it is quarantined after the set attempts and the rows after it go out', async () => {
    const [stuck, next, other] = [
      buildCommand(randomUUID()),
      buildCommand(randomUUID()),
      buildCommand(randomUUID()),
    ];
    const publisher = new RecordingPublisher();
    publisher.refused.add(stuck.id);
    const relay = startRelay(publisher);
    try {
      const [stuckId] = await writeRows([stuck, next, other]);

      await eventually(() => {
        expect(publisher.sent.map((event) => event.id)).toEqual([next.id, other.id]);
      });
      const [row] = await db('outbox')
        .where({ id: stuckId })
        .select<{ attempts: number; quarantined_at: Date | null; last_error: string }[]>(
          'attempts',
          'quarantined_at',
          'last_error',
        );
      expect(row?.attempts).toBe(2);
      expect(row?.quarantined_at).toBeInstanceOf(Date);
      expect(row?.last_error).toContain('larger than the max message size');
    } finally {
      await relay.stop();
    }
  });
});
