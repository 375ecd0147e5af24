import { randomUUID } from 'node:crypto';

import { type EventPublisher } from '@cards/messaging';
import { createLogger } from '@cards/runtime';
import { createTestDatabase, eventually, type TestDatabase } from '@cards/test-support';
import type { Knex } from 'knex';
import { Client } from 'pg';

import { createDatabase } from '../../src/data-access/database';
import { RELAY_LOCK_KEY } from '../../src/data-access/relay-lease';
import { OutboxRelay } from '../../src/entry-points/jobs/outbox-relay';
import { createMigratedDatabase } from '../support/card-api';
import { runOps, type OpsRun } from '../support/ops-cli';
import { buildCommand } from '../support/outbox';

describe('operator command outbox status', () => {
  let database: TestDatabase;
  let db: Knex;

  const ops = (args: string[]): Promise<OpsRun> => runOps(args, database.url);

  /** A row holding a valid provision command (the relay sets aside one that breaks the contract). */
  function outboxRow(overrides: Record<string, unknown>) {
    const cardId = randomUUID();
    const event = buildCommand(cardId);
    return {
      event_id: event.id,
      topic: 'test.commands',
      key: cardId,
      type: 'card.provision.requested',
      event: JSON.stringify(event),
      ...overrides,
    };
  }

  beforeAll(async () => {
    database = await createMigratedDatabase('ops-outbox-status');
    db = createDatabase({ url: database.url, poolMax: 2 });
    await db('outbox').insert([
      // The backlog: three rows, the oldest 90 s old; the relay failed twice on the second.
      outboxRow({ created_at: db.raw("now() - interval '90 seconds'") }),
      outboxRow({ attempts: 2, last_error: 'KafkaJSNumberOfRetriesExceeded: broker down' }),
      outboxRow({}),
      // Quarantined: not in the backlog, counted apart.
      outboxRow({ quarantined_at: db.raw('now()'), last_error: 'breaks the event contract: no data' }),
      // Published: two in the last minute, one before it.
      outboxRow({ created_at: db.raw("now() - interval '20 seconds'"), published_at: db.raw('now()') }),
      outboxRow({ published_at: db.raw("now() - interval '10 seconds'") }),
      outboxRow({
        created_at: db.raw("now() - interval '10 minutes'"),
        published_at: db.raw("now() - interval '5 minutes'"),
      }),
    ]);
  });

  afterAll(async () => {
    await db.destroy();
    await database.drop();
  });

  it('when rows wait and no relay runs, then the backlog, the oldest, the failing row and recent publishing are right, and no holder', async () => {
    const run = await ops(['outbox', 'status']);

    expect(run.code).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines[0]).toBe('backlog: 3 unpublished row(s)');
    expect(lines[1]).toMatch(/^oldest unpublished: \d{4}-\d\d-\d\dT\S+Z \(1 min [3-5]\d s ago\)$/);
    expect(lines[2]).toMatch(
      /^failing: 1 row\(s\) with a publish error; first id=2 type=card\.provision\.requested key=\S+ attempts=2 error="KafkaJSNumberOfRetriesExceeded: broker down"$/,
    );
    expect(lines.slice(3)).toEqual([
      'quarantined: 1 row(s), set aside until released (outbox quarantined)',
      'published in the last minute: 2',
      'relay: none (no relay is running)',
    ]);
  });

  it('when another database’s session holds the same lock key, then it is not this database’s relay', async () => {
    const other = await createTestDatabase('ops-outbox-status-other');
    const session = new Client({ connectionString: other.url });
    await session.connect();
    try {
      await session.query(/* sql */ 'SELECT pg_advisory_lock($1)', [RELAY_LOCK_KEY]);

      const run = await ops(['outbox', 'status', '--json']);

      expect(run.code).toBe(0);
      expect(JSON.parse(run.stdout)).toMatchObject({ pending: 3, relay: null });
    } finally {
      await session.end();
      await other.drop();
    }
  });

  it('when a relay holds the lock, then its session is shown; once it has published, the backlog is gone', async () => {
    const applicationName = `ops-test-relay-${randomUUID().slice(0, 8)}`;
    const published: string[] = [];
    const publisher: EventPublisher = {
      publish: (events) => {
        published.push(...events.map((event) => event.id));
        return Promise.resolve();
      },
    };
    const relay = new OutboxRelay({
      db,
      databaseUrl: `${database.url}?application_name=${applicationName}`,
      publisher,
      logger: createLogger({ service: 'test', level: 'silent' }),
      batchSize: 100,
      pollIntervalMs: 100,
      retentionHours: 24,
    });
    const leader = new Promise<void>((resolve) => relay.signals.once('leader', resolve));
    relay.start();
    try {
      await leader;
      await eventually(() => {
        expect(published).toHaveLength(3);
      });
      const { rows } = await db.raw<{ rows: { pid: number; backend_start: Date }[] }>(
        /* sql */ 'SELECT pid, backend_start FROM pg_stat_activity WHERE application_name = ?',
        [applicationName],
      );

      const text = await ops(['outbox', 'status']);
      const json = await ops(['outbox', 'status', '--json']);

      const [holder] = rows;
      expect(text.stdout.trim().split('\n')).toEqual([
        'backlog: 0 unpublished row(s)',
        'oldest unpublished: -',
        'failing: 0 row(s) with a publish error',
        'quarantined: 1 row(s), set aside until released (outbox quarantined)',
        'published in the last minute: 5',
        expect.stringMatching(
          new RegExp(
            `^relay: pid=${holder?.pid} application_name=${applicationName} client_addr=\\S+ ` +
              `backend_start=${holder?.backend_start.toISOString().replaceAll('.', '\\.')} state=\\w+$`,
          ),
        ),
      ]);
      const { relay: shown, ...figures } = JSON.parse(json.stdout) as Record<string, unknown>;
      expect(figures).toEqual({
        pending: 0,
        oldestCreatedAt: null,
        oldestAgeSeconds: null,
        failing: 0,
        quarantined: 1,
        firstFailing: null,
        publishedLastMinute: 5,
      });
      expect(shown).toMatchObject({
        pid: holder?.pid,
        applicationName,
        backendStart: holder?.backend_start.toISOString(),
      });
    } finally {
      await relay.stop();
    }
    const after = await ops(['outbox', 'status']);
    expect(after.stdout).toContain('relay: none (no relay is running)');
  });
});
