import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';

import { CardSchema, encodeEvent, EventType, type AnyCardEvent, type Card } from '@cards/contracts';
import { createKafka } from '@cards/messaging';
import { createLogger } from '@cards/runtime';
import { eventually, testKafkaBrokers } from '@cards/test-support';
import type { Producer } from 'kafkajs';

import { start as startConsumer, type RunningCardEventsConsumer } from '../../src/main-card-events-consumer';
import { start as startRelay, type RunningRelay } from '../../src/main-outbox-relay';
import { buildCardRequest, startCardApi, type CardApiHarness } from '../support/card-api';
import { runOps, type OpsRun } from '../support/ops-cli';

describe('operator command cards show', () => {
  let harness: CardApiHarness;
  let relay: RunningRelay;
  let consumer: RunningCardEventsConsumer;
  let producer: Producer;
  let token: string;

  /** Runs the compiled CLI against this file's database. */
  const ops = (args: string[]): Promise<OpsRun> => runOps(args, harness.database.url);

  beforeAll(async () => {
    harness = await startCardApi('ops-cards-show');
    relay = await startRelay({ ...harness.config, OUTBOX_POLL_INTERVAL_MS: 100 });
    consumer = await startConsumer(harness.config);
    producer = createKafka(
      { clientId: 'test-ops-cards-show', brokers: testKafkaBrokers() },
      createLogger({ service: 'test', level: 'silent' }),
    ).producer();
    await producer.connect();
    ({ token } = await harness.createUser());
  });

  afterAll(async () => {
    await producer.disconnect();
    await consumer.stop();
    await relay.stop();
    await harness.stop();
  });

  /** Publishes a result as provider-worker would. */
  async function sendResult(event: AnyCardEvent): Promise<void> {
    await producer.send({
      topic: harness.config.TOPIC_PROVISIONING_RESULTS,
      messages: [encodeEvent(event)],
    });
  }

  function result(type: AnyCardEvent['type'], card: Card, data: object): AnyCardEvent {
    return {
      id: randomUUID(),
      type,
      source: 'provider-worker',
      time: new Date().toISOString(),
      subject: card.id,
      data: { cardId: card.id, ...data },
    } as AnyCardEvent;
  }

  async function requestCard(correlationId: string): Promise<Card> {
    const response = await harness.request('/v1/cards', {
      method: 'POST',
      token,
      body: buildCardRequest({ color: 'blue' }),
      headers: { 'x-request-id': correlationId },
    });
    return CardSchema.parse(await response.json());
  }

  async function published(cardId: string, type: string): Promise<void> {
    await eventually(async () => {
      const row = await harness
        .db('outbox')
        .where({ key: cardId, type })
        .first<{ published_at: Date | null }>();
      expect(row.published_at).not.toBeNull();
    });
  }

  it('when a card was requested, published and provisioned, then its timeline reads request, publish, result, ACTIVE', async () => {
    const correlationId = `ops-show-${randomUUID()}`;
    const card = await requestCard(correlationId);
    await published(card.id, EventType.provisionRequested);
    await sendResult(
      result(EventType.provisioned, card, {
        providerCardId: 'pc_show_1',
        last4: '4242',
        expMonth: 9,
        expYear: 2030,
      }),
    );
    await eventually(async () => {
      expect(await harness.db('cards').where({ id: card.id }).first('status')).toEqual({ status: 'ACTIVE' });
    });

    const run = await ops(['cards', 'show', card.id]);

    expect(run.code).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines.slice(0, 6)).toEqual([
      `card ${card.id}  ACTIVE  blue`,
      expect.stringMatching(/^ {2}owner {13}user-\S+ \(user [0-9a-f-]{36}, user\)$/),
      '  card              last4 4242, expires 09/2030, provider card pc_show_1',
      '  failure           -',
      `  correlation id    ${correlationId}`,
      expect.stringMatching(/^ {2}created {11}\d{4}-\d\d-\d\dT\S+Z$/),
    ]);
    const timeline = lines
      .slice(lines.indexOf('timeline') + 1)
      .map((line) => line.replace(/^ {2}\S+ {2}/, ''));
    expect(timeline).toEqual([
      'requested         card requested: PENDING, blue',
      expect.stringMatching(/^outbox {12}card\.provision\.requested written to the outbox {2}event \S+$/),
      expect.stringMatching(
        new RegExp(
          `^published {9}card\\.provision\\.requested published to ${harness.config.TOPIC_PROVISIONING_COMMANDS.replaceAll('.', '\\.')} {2}event \\S+$`,
        ),
      ),
      expect.stringMatching(/^provider {10}provider call succeeded: provider card pc_show_1 {2}event \S+$/),
      expect.stringMatching(/^result {12}card\.provisioned received: activated {2}event \S+$/),
      'activated         ACTIVE: last4 4242, expires 09/2030, provider card pc_show_1',
    ]);
  });

  it('when a card failed and its provider card came late, then the compensation is in the timeline, in order (JSON)', async () => {
    const card = await requestCard(`ops-show-${randomUUID()}`);
    await published(card.id, EventType.provisionRequested);
    await sendResult(
      result(EventType.provisioningFailed, card, { code: 'TIMED_OUT', message: 'too slow', attempts: 3 }),
    );
    await eventually(async () => {
      expect(await harness.db('cards').where({ id: card.id }).first('status')).toEqual({ status: 'FAILED' });
    });
    await sendResult(
      result(EventType.provisioned, card, {
        providerCardId: 'pc_late',
        last4: '1111',
        expMonth: 1,
        expYear: 2031,
      }),
    );
    await published(card.id, EventType.cancelRequested);
    await sendResult(result(EventType.cancelled, card, { providerCardId: 'pc_late' }));
    await eventually(async () => {
      const row = await harness
        .db('cards')
        .where({ id: card.id })
        .first<{ provider_cancelled_at: Date | null }>();
      expect(row.provider_cancelled_at).not.toBeNull();
    });

    const run = await ops(['cards', 'show', card.id, '--json']);

    expect(run.code).toBe(0);
    const view = JSON.parse(run.stdout) as {
      card: Record<string, unknown>;
      timeline: { at: string; kind: string; type?: string; summary: string }[];
    };
    expect(view.card).toMatchObject({ id: card.id, status: 'FAILED', failureCode: 'TIMED_OUT', last4: null });
    expect(view.timeline.map((entry) => [entry.kind, entry.type ?? ''])).toEqual([
      ['requested', ''],
      ['outbox', EventType.provisionRequested],
      ['published', EventType.provisionRequested],
      ['provider', EventType.provisioningFailed],
      ['result', EventType.provisioningFailed],
      ['failed', ''],
      ['provider', EventType.provisioned],
      ['result', EventType.provisioned],
      ['outbox', EventType.cancelRequested],
      ['cancel-requested', ''],
      ['published', EventType.cancelRequested],
      ['provider', EventType.cancelled],
      ['result', EventType.cancelled],
      ['cancelled', ''],
    ]);
    expect(view.timeline[3]?.summary).toBe('provider call failed after 3 attempt(s): TIMED_OUT "too slow"');
    expect(view.timeline[7]?.summary).toBe('card.provisioned received: compensation-requested');
    const times = view.timeline.slice(1).map((entry) => Date.parse(entry.at));
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });

  it('when the card does not exist, then one line on stderr and exit 1; when the id is not one, a usage error: exit 2', async () => {
    const unknown = randomUUID();

    const missing = await ops(['cards', 'show', unknown]);
    const malformed = await ops(['cards', 'show', 'not-a-card']);

    expect([missing.code, missing.stdout, missing.stderr]).toEqual([
      1,
      '',
      `main-ops: failed: Error: card ${unknown} not found\n`,
    ]);
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toBe(
      'main-ops: failed: Error: cards show needs a card id (a UUID), got "not-a-card" (see --help)\n',
    );
  });

  it('when the database cannot be reached, then the one line names it (never its password) and DATABASE_URL', async () => {
    const run = await runOps(['cards', 'show', randomUUID()], 'postgres://ops:s3cret@127.0.0.1:1/cards');

    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(
      /^main-ops: failed: Error: database 127\.0\.0\.1:1\/cards \(DATABASE_URL\): .*ECONNREFUSED/,
    );
    expect(run.stderr).not.toContain('s3cret');
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('when run as the cards-ops command, then --version and the help print on stdout only, and a usage error exits 2', async () => {
    const root = path.resolve(__dirname, '../../../..');
    const bin = path.join(root, 'node_modules/.bin/cards-ops');
    // npm links the workspace's bin; it must be executable, as `npx cards-ops` runs it.
    expect(() => {
      accessSync(bin, constants.X_OK);
    }).not.toThrow();
    const cardsOps = (args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        execFile(process.execPath, [bin, ...args], { cwd: root }, (error, stdout, stderr) => {
          resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
        });
      });

    const version = await cardsOps(['--version']);
    const help = await cardsOps(['cards', 'show', '--help']);
    const wrong = await cardsOps(['cards', 'show', 'not-a-card']);

    expect([version.code, version.stderr]).toEqual([0, '']);
    expect(version.stdout).toMatch(/^cards-ops \d+\.\d+\.\d+\n$/);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: cards-ops cards show …\n/);
    expect(help.stderr).toBe('');
    expect(wrong).toEqual({
      code: 2,
      stdout: '',
      stderr: 'main-ops: failed: Error: cards show needs a card id (a UUID), got "not-a-card" (see --help)\n',
    });
  });
});
