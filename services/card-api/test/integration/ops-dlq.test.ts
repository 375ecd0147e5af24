import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';

import { CardSchema, encodeEvent, EventType, type AnyCardEvent } from '@cards/contracts';
import { createKafka, DeadLetterHeaders } from '@cards/messaging';
import { createLogger } from '@cards/runtime';
import { eventually, testKafkaBrokers } from '@cards/test-support';
import type { Kafka, Producer } from 'kafkajs';

import type { AuditEntry, AuditLog } from '../../src/domain/audit';
import { UsageError } from '../../src/entry-points/cli/command-line';
import { dlqList, dlqReplay, type DeadLetter } from '../../src/entry-points/cli/dlq.commands';
import { start as startConsumer, type RunningCardEventsConsumer } from '../../src/main-card-events-consumer';
import { buildCardRequest, startCardApi, type CardApiHarness } from '../support/card-api';
import { TopicRecorder } from '../support/kafka';

const run = promisify(execFile);

/** An operator who says yes. */
const confirmed = (): Promise<boolean> => Promise.resolve(true);

/** An audit log that keeps what it is given (the CLI's real one is checked end to end in admin-pipeline). */
function recordingAudit(): AuditLog & { entries: AuditEntry[] } {
  const entries: AuditEntry[] = [];
  return {
    entries,
    append: (entry) => {
      entries.push(entry);
      return Promise.resolve();
    },
  };
}
const ROOT = path.resolve(__dirname, '../../../..');
const CLI = path.join(ROOT, 'services/card-api/dist/main-ops.js');

describe('operator commands for dead letters (main-ops dlq)', () => {
  let harness: CardApiHarness;
  let consumer: RunningCardEventsConsumer;
  let producer: Producer;
  let kafka: Kafka;
  let results: TopicRecorder;
  let deadLetters: TopicRecorder;
  let resultsTopic: string;
  const poison = { key: `poison-${randomUUID()}`, ceId: `poison-${randomUUID()}` };

  beforeAll(async () => {
    harness = await startCardApi('ops-dlq');
    resultsTopic = harness.topicEnv['TOPIC_PROVISIONING_RESULTS'] ?? '';
    consumer = await startConsumer(harness.config);
    kafka = createKafka(
      { clientId: 'test-ops', brokers: testKafkaBrokers() },
      createLogger({ service: 'test', level: 'silent' }),
    );
    producer = kafka.producer();
    await producer.connect();
    results = await new TopicRecorder(resultsTopic).start();
    deadLetters = await new TopicRecorder(`${resultsTopic}.dlq`).start();

    // A poison message: its envelope is incomplete, so the consumer dead-letters it and moves on.
    await producer.send({
      topic: resultsTopic,
      messages: [
        { key: poison.key, value: '{not json', headers: { ce_type: 'card.provisioned', ce_id: poison.ceId } },
      ],
    });
    await eventually(() => {
      if (!deadLetters.raw.some((message) => message.key === poison.key)) {
        throw new Error('the poison message is not on the dead-letter topic yet');
      }
    });
  });

  afterAll(async () => {
    await consumer.stop();
    await producer.disconnect();
    await results.stop();
    await deadLetters.stop();
    await harness.stop();
  });

  async function list(options: { json?: boolean } = {}): Promise<{ lines: string[]; letters: DeadLetter[] }> {
    const lines: string[] = [];
    const letters = await dlqList({
      kafka,
      topic: resultsTopic,
      out: (line) => lines.push(line),
      ...options,
    });
    return { lines, letters };
  }

  it('when a poison message was dead-lettered, then dlq list prints one line with its key, type, attempts, time and reason, and stops at the end', async () => {
    const { lines, letters } = await list();

    const letter = letters.find((candidate) => candidate.key === poison.key);
    expect(letter).toBeDefined();
    const line = lines.find((candidate) => candidate.includes(`key=${poison.key}`));
    expect(line).toMatch(
      new RegExp(
        `^partition=\\d+ offset=\\d+ key=${poison.key} ce_id=${poison.ceId} ce_type=card\\.provisioned ` +
          'dlq-attempts=0 dlq-failed-at=\\d{4}-\\d\\d-\\d\\dT\\S+Z dlq-reason="invalid envelope',
      ),
    );
    expect(lines.at(-1)).toBe(`# ${letters.length} dead letter(s) on ${resultsTopic}.dlq`);
  });

  it('when listed with --json, then each dead letter is one JSON document naming where it came from', async () => {
    const { lines } = await list({ json: true });

    const documents = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(documents.find((document) => document['key'] === poison.key)).toMatchObject({
      topic: `${resultsTopic}.dlq`,
      ceId: poison.ceId,
      ceType: 'card.provisioned',
      attempts: '0',
      sourceTopic: resultsTopic,
      consumerGroup: harness.config.CARD_EVENTS_GROUP_ID,
      value: '{not json',
    });
  });

  it('when a replay is a dry run, not confirmed, or cannot be asked, then nothing is sent and nothing audited', async () => {
    const before = deadLetters.raw.length;
    const mainBefore = results.raw.length;
    const audit = recordingAudit();
    const lines: string[] = [];
    const asked: string[] = [];
    const replay = (extra: {
      dryRun?: boolean;
      confirm: ((question: string) => Promise<boolean>) | undefined;
    }) =>
      dlqReplay({
        kafka,
        topic: resultsTopic,
        selection: { all: true },
        audit,
        out: (line) => lines.push(line),
        ...extra,
      });

    const dryRun = await replay({ dryRun: true, confirm: undefined });
    const jsonLines: string[] = [];
    await dlqReplay({
      kafka,
      topic: resultsTopic,
      selection: { all: true },
      audit,
      dryRun: true,
      json: true,
      confirm: undefined,
      out: (line) => jsonLines.push(line),
    });
    // With --json, only documents: one per letter that would go, and no comment line.
    const documents = jsonLines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(documents.length).toBeGreaterThan(0);
    expect(documents.find((document) => document['key'] === poison.key)).toMatchObject({
      ceId: poison.ceId,
      replayTo: resultsTopic,
      dryRun: true,
    });
    const declined = await replay({
      confirm: (question) => {
        asked.push(question);
        return Promise.resolve(false);
      },
    }).catch((error: unknown) => error);
    const unasked = await replay({ confirm: undefined }).catch((error: unknown) => error);

    expect(dryRun).toEqual([]);
    expect(lines.some((line) => line.startsWith('would replay ') && line.includes(`key=${poison.key}`))).toBe(
      true,
    );
    expect(lines.at(-1)).toMatch(
      /^# dry run: would replay \d+ dead letter\(s\) from .* to .*; nothing was changed$/,
    );
    expect(asked).toEqual([
      expect.stringMatching(
        new RegExp(`^replay \\d+ dead letter\\(s\\) from ${resultsTopic}\\.dlq to ${resultsTopic}\\?$`),
      ),
    ]);
    expect(declined).toEqual(new Error('not confirmed: nothing was changed'));
    expect(unasked).toBeInstanceOf(UsageError);
    expect(String(unasked)).toContain('add --yes');
    expect(audit.entries).toEqual([]);
    expect(results.raw.length).toBe(mainBefore);
    expect(deadLetters.raw.length).toBe(before);
  });

  it('when the poison message is replayed by offset, then it is on the main topic again with its original headers only', async () => {
    const { letters } = await list();
    const letter = letters.find((candidate) => candidate.key === poison.key)!;
    const lines: string[] = [];
    const audit = recordingAudit();

    const replayed = await dlqReplay({
      kafka,
      topic: resultsTopic,
      selection: { offset: letter.offset, partition: letter.partition },
      confirm: confirmed,
      audit,
      out: (line) => lines.push(line),
    });

    expect(replayed.map((message) => message.key)).toEqual([poison.key]);
    expect(audit.entries).toEqual([
      {
        actorUserId: null,
        actorExternalId: 'ops-cli',
        requestId: null,
        action: 'dead-letter.replay',
        target: resultsTopic,
        details: {
          deadLetterTopic: `${resultsTopic}.dlq`,
          selection: { offset: letter.offset, partition: letter.partition },
          replayed: 1,
        },
      },
    ]);
    expect(lines[0]).toBe(
      `replayed partition=${letter.partition} offset=${letter.offset} key=${poison.key} ` +
        `ce_id=${poison.ceId} ce_type=card.provisioned to ${resultsTopic}`,
    );
    const copies = await eventually(() => {
      const seen = results.raw.filter((message) => message.key === poison.key);
      expect(seen).toHaveLength(2);
      return seen;
    });
    expect(copies[1]?.headers).toEqual({ ce_type: 'card.provisioned', ce_id: poison.ceId });
    // Still poison, so the consumer dead-letters it again and carries on: the DLQ now holds two copies.
    await eventually(() => {
      expect(deadLetters.raw.filter((message) => message.key === poison.key)).toHaveLength(2);
    });
  });

  it('when a valid event that was dead-lettered (say, during an outage) is replayed by --id, then the consumer applies it', async () => {
    const { token } = await harness.createUser();
    const created = await harness.request('/v1/cards', { method: 'POST', token, body: buildCardRequest() });
    const card = CardSchema.parse(await created.json());
    const event: AnyCardEvent = {
      id: randomUUID(),
      type: EventType.provisioned,
      source: 'provider-worker',
      time: new Date().toISOString(),
      subject: card.id,
      data: {
        cardId: card.id,
        providerCardId: `pc_${randomUUID()}`,
        last4: '4242',
        expMonth: 9,
        expYear: 2030,
      },
    };
    const encoded = encodeEvent(event);
    await producer.send({
      topic: `${resultsTopic}.dlq`,
      messages: [
        {
          ...encoded,
          headers: {
            ...encoded.headers,
            [DeadLetterHeaders.reason]: 'retries exhausted: database unavailable',
            [DeadLetterHeaders.sourceTopic]: resultsTopic,
            [DeadLetterHeaders.attempts]: '5',
            [DeadLetterHeaders.failedAt]: new Date().toISOString(),
          },
        },
      ],
    });

    const replayed = await dlqReplay({
      kafka,
      topic: resultsTopic,
      selection: { id: event.id },
      confirm: confirmed,
      audit: recordingAudit(),
      out: () => undefined,
    });

    expect(replayed.map((message) => message.ceId)).toEqual([event.id]);
    await eventually(async () => {
      const response = await harness.request(`/v1/cards/${card.id}`, { token });
      expect(CardSchema.parse(await response.json())).toMatchObject({ status: 'ACTIVE', last4: '4242' });
    });
    const onMainTopic = results.raw.find((message) => message.headers['ce_id'] === event.id);
    expect(onMainTopic?.headers).toEqual(encoded.headers);
  });

  it('when nothing matches the selection, then replay fails with a clear message and publishes nothing', async () => {
    const before = results.raw.length;
    const audit = recordingAudit();

    await expect(
      dlqReplay({
        kafka,
        topic: resultsTopic,
        selection: { id: 'no-such-event' },
        confirm: confirmed,
        audit,
        out: () => undefined,
      }),
    ).rejects.toThrow(`no dead letter on ${resultsTopic}.dlq has ce_id no-such-event`);
    expect(results.raw.length).toBe(before);
    expect(audit.entries).toEqual([]);
  });

  it('when the compiled CLI runs, then --help exits 0 and dlq list prints the dead letters; a bad command line exits 2 with one line', async () => {
    const env = {
      ...process.env,
      KAFKA_BROKERS: testKafkaBrokers().join(','),
      DATABASE_URL: harness.database.url,
      LOG_LEVEL: 'silent',
    };

    const help = await run(process.execPath, [CLI, '--help'], { cwd: ROOT, env });
    expect(help.stdout).toContain('Usage: cards-ops <command> [options]');

    const listed = await run(process.execPath, [CLI, 'dlq', 'list', resultsTopic], { cwd: ROOT, env });
    expect(listed.stdout).toContain(`key=${poison.key}`);

    const failed = await run(process.execPath, [CLI, 'dlq', 'replay', resultsTopic], { cwd: ROOT, env }).then(
      () => {
        throw new Error('expected a non-zero exit');
      },
      (error: unknown) => error as { code: number; stderr: string },
    );
    expect(failed.code).toBe(2);
    expect(failed.stderr.trim().split('\n')).toEqual([
      'main-ops: failed: Error: dlq replay needs exactly one of --id <ce_id>, --offset <n> or --all (see --help)',
    ]);
  });
});
