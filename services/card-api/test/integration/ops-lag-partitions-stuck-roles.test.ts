import { randomUUID } from 'node:crypto';

import { CardSchema } from '@cards/contracts';
import { createKafka, DeadLetterHeaders } from '@cards/messaging';
import { createLogger } from '@cards/runtime';
import { eventually, testKafkaBrokers } from '@cards/test-support';
import type { Producer } from 'kafkajs';

import { UsageError } from '../../src/entry-points/cli/command-line';
import { start as startConsumer } from '../../src/main-card-events-consumer';
import { runOps } from '../../src/main-ops';
import { buildCardRequest, startCardApi, type CardApiHarness } from '../support/card-api';

/** Operator commands over Kafka's consumer groups and partitions, dead letters of one card, stuck cards, roles. */
describe('operator commands: consumers, partitions, dead letters of a card, stuck cards, user roles', () => {
  let harness: CardApiHarness;
  let producer: Producer;
  let resultsTopic: string;
  let group: string;

  /** Runs a command line in this process against this file's configuration; its lines, or what it failed with. */
  async function ops(argv: string[]): Promise<{ lines: string[]; error?: unknown }> {
    const lines: string[] = [];
    try {
      await runOps(argv, { out: (line) => lines.push(line), loadConfig: () => harness.config });
      return { lines };
    } catch (error) {
      return { lines, error };
    }
  }
  const documents = (lines: string[]) => lines.map((line) => JSON.parse(line) as Record<string, unknown>);

  beforeAll(async () => {
    harness = await startCardApi('ops-consumers');
    resultsTopic = harness.config.TOPIC_PROVISIONING_RESULTS;
    group = harness.config.CARD_EVENTS_GROUP_ID;
    producer = createKafka(
      { clientId: 'test-ops-consumers', brokers: testKafkaBrokers() },
      createLogger({ service: 'test', level: 'silent' }),
    ).producer();
    await producer.connect();
    // Three messages nobody has consumed: the card-events group (not started) is three behind.
    await producer.send({
      topic: resultsTopic,
      messages: [1, 2, 3].map((n) => ({ key: `k-${n}`, value: '{}' })),
    });
  });

  afterAll(async () => {
    await producer.disconnect();
    await harness.stop();
  });

  it('when the partitions of a topic are asked for, then each has its marks and the messages add up', async () => {
    const { lines, error } = await ops(['topics', 'partitions', 'results', '--json']);

    expect(error).toBeUndefined();
    const partitions = documents(lines);
    expect(partitions.length).toBeGreaterThan(0);
    expect(partitions.every((partition) => partition['topic'] === resultsTopic)).toBe(true);
    expect(partitions.reduce((sum, partition) => sum + Number(partition['messages']), 0)).toBe(3);
    expect((await ops(['topics', 'partitions', 'no.such.topic'])).error).toEqual(
      new Error('topic no.such.topic does not exist'),
    );
  });

  it('when consumer lag is asked for, then each group is listed per partition, and a reset to latest (confirmed) clears it', async () => {
    const lagOf = async () =>
      documents((await ops(['consumers', 'lag', '--json'])).lines)
        .filter((entry) => entry['group'] === group)
        .reduce((sum, entry) => sum + Number(entry['lag']), 0);
    expect(await lagOf()).toBe(3);

    const dryRun = await ops(['consumers', 'reset', group, 'results', '--to', 'latest', '--dry-run']);
    const unconfirmed = await ops(['consumers', 'reset', group, 'results', '--to', 'latest']);
    expect(dryRun.lines).toEqual([
      `# dry run: would move ${group}'s offsets on ${resultsTopic} to the latest (now 3 behind); nothing was changed`,
    ]);
    expect(unconfirmed.error).toBeInstanceOf(UsageError);
    expect(await lagOf()).toBe(3);

    const reset = await ops(['consumers', 'reset', group, 'results', '--to', 'latest', '--yes']);
    expect(reset).toEqual({
      lines: [`moved ${group}'s offsets on ${resultsTopic} to the latest: now 0 behind`],
    });
    expect(await lagOf()).toBe(0);
  });

  it('when the group has running consumers, then a reset is refused and nothing moves', async () => {
    const consumer = await startConsumer(harness.config);
    try {
      // Each partition names the member that owns it: here the one consumer, by its client id.
      await eventually(async () => {
        const owners = documents((await ops(['consumers', 'lag', '--json'])).lines)
          .filter((entry) => entry['group'] === group)
          .map((entry) => (entry['owner'] as { clientId?: string } | null)?.clientId);
        expect(owners.length).toBeGreaterThan(0);
        expect(owners).toEqual(owners.map(() => `${harness.config.KAFKA_CLIENT_ID}-card-events`));
      });
      await eventually(async () => {
        const refused = await ops(['consumers', 'reset', group, 'results', '--to', 'earliest', '--yes']);
        expect(String(refused.error)).toMatch(
          new RegExp(`group ${group} is active \\(\\w+, [1-9]\\d* member`),
        );
      });
    } finally {
      await consumer.stop();
    }
  });

  it('when dead letters are listed for one card, then only that card’s are printed', async () => {
    const [cardId, otherCard] = [randomUUID(), randomUUID()];
    const headers = { [DeadLetterHeaders.reason]: 'test', ce_type: 'card.provisioned' };
    await producer.send({
      topic: `${resultsTopic}.dlq`,
      messages: [
        { key: cardId, value: '{}', headers: { ...headers, ce_id: 'mine' } },
        { key: otherCard, value: '{}', headers: { ...headers, ce_id: 'theirs' } },
      ],
    });

    const listed = await ops(['dlq', 'list', 'results', '--card', cardId, '--json']);

    expect(documents(listed.lines).map((letter) => [letter['key'], letter['ceId']])).toEqual([
      [cardId, 'mine'],
    ]);
  });

  it('when stuck cards are asked for, then PENDING cards older than the bound are listed, newer ones not', async () => {
    const { token } = await harness.createUser();
    const created = CardSchema.parse(
      await (await harness.request('/v1/cards', { method: 'POST', token, body: buildCardRequest() })).json(),
    );

    const everyPending = await ops(['cards', 'stuck', '--older-than', '0', '--json']);
    const olderThanAnHour = await ops(['cards', 'stuck', '--older-than', '3600']);

    expect(documents(everyPending.lines).map((card) => card['id'])).toContain(created.id);
    expect(olderThanAnHour.lines).toEqual(['# 0 card(s) PENDING for over 3600s']);
  });

  it('when a user is given another role, then it changes with one audit row; a dry run, no confirmation or the same role change nothing', async () => {
    const { externalId, id } = await harness.createUser();
    const roleOf = async () =>
      (
        await harness
          .db<{ external_id: string; role: string }>('users')
          .where({ external_id: externalId })
          .first()
      )?.role;
    const audited = () =>
      harness.db('audit_log').where({ action: 'user.role-change', target: id }).select('details');

    const dryRun = await ops(['users', 'role', externalId, '--role', 'admin', '--dry-run']);
    const unconfirmed = await ops(['users', 'role', externalId, '--role', 'admin']);
    expect(dryRun.lines).toEqual([
      `# dry run: would change user ${externalId} from role user to admin; nothing was changed`,
    ]);
    expect(unconfirmed.error).toBeInstanceOf(UsageError);
    expect(await roleOf()).toBe('user');

    const changed = await ops(['users', 'role', externalId, '--role', 'admin', '--yes']);
    const again = await ops(['users', 'role', externalId, '--role', 'admin', '--yes']);
    const missing = await ops(['users', 'role', `nobody-${randomUUID()}`, '--role', 'admin', '--yes']);

    expect(changed).toEqual({ lines: [`changed user ${externalId} from role user to admin`] });
    expect(again).toEqual({ lines: [`user ${externalId} already has role admin; nothing to change`] });
    expect(String(missing.error)).toMatch(/^Error: no user has external id "nobody-/);
    expect(await roleOf()).toBe('admin');
    expect(await audited()).toEqual([{ details: { externalId, from: 'user', to: 'admin' } }]);
  });
});
