import { execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import path from 'node:path';

import { deadLetterTopic, encodeEvent, EventType, type AnyCardEvent } from '@cards/contracts';
import { createKafka, DeadLetterHeaders, ensureTopics } from '@cards/messaging';
import { createLogger } from '@cards/runtime';
import { eventually, testKafkaBrokers, uniqueSuffix } from '@cards/test-support';
import type { Producer } from 'kafkajs';

const ROOT = path.resolve(__dirname, '../../../..');
const CLI = path.join(ROOT, 'services/card-api/dist/main-ops.js');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the compiled CLI (integration global set-up builds it) to its end. */
function ops(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      {
        cwd: ROOT,
        env: { ...process.env, KAFKA_BROKERS: testKafkaBrokers().join(','), LOG_LEVEL: 'silent' },
      },
      (error, stdout, stderr) => {
        resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

const lines = (text: string) => text.split('\n').filter((line) => line.length > 0);

function provisionRequested(cardId: string): AnyCardEvent {
  return {
    id: randomUUID(),
    type: EventType.provisionRequested,
    source: 'card-api',
    time: new Date().toISOString(),
    subject: cardId,
    correlationId: `corr-${cardId.slice(0, 8)}`,
    data: { cardId, color: 'gold', cardholderRef: randomUUID(), requestedAt: new Date().toISOString() },
  };
}

function provisioned(cardId: string): AnyCardEvent {
  return {
    id: randomUUID(),
    type: EventType.provisioned,
    source: 'provider-worker',
    time: new Date().toISOString(),
    subject: cardId,
    data: { cardId, providerCardId: `pc_${cardId.slice(0, 8)}`, last4: '4242', expMonth: 9, expYear: 2030 },
  };
}

describe('operator command topics tail', () => {
  const topic = `test.ops-tail.${uniqueSuffix()}`;
  const cardA = randomUUID();
  const cardB = randomUUID();
  const poisonKey = `poison-${randomUUID()}`;
  let producer: Producer;

  beforeAll(async () => {
    const kafka = createKafka(
      { clientId: 'test-ops-tail', brokers: testKafkaBrokers() },
      createLogger({ service: 'test', level: 'silent' }),
    );
    await ensureTopics(kafka, [topic, deadLetterTopic(topic)], { partitions: 3 });
    producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    // Two events of two cards, and a message that is not one of ours; one partition, so their order is known.
    await producer.send({
      topic,
      messages: [
        { ...encodeEvent(provisionRequested(cardA)), partition: 0 },
        { ...encodeEvent(provisioned(cardB)), partition: 0 },
        { key: poisonKey, value: '{not json', headers: { ce_type: 'card.provisioned' }, partition: 0 },
      ],
    });
  });

  afterAll(async () => {
    await producer.disconnect();
  });

  it('when tailed from the beginning with --max 3, then two events are decoded lines and the bad message an INVALID line', async () => {
    const run = await ops(['topics', 'tail', topic, '--from-beginning', '--max', '3']);

    expect(run.code).toBe(0);
    const printed = lines(run.stdout);
    expect(printed).toHaveLength(3);
    expect(printed[0]).toMatch(
      new RegExp(
        `^\\d{4}-\\d\\d-\\d\\dT\\S+Z  ${topic.replaceAll('.', '\\.')}\\[0\\]@0  card\\.provision\\.requested  ` +
          `${cardA}  corr-${cardA.slice(0, 8)}  color=gold cardholderRef=\\S+ requestedAt=\\S+$`,
      ),
    );
    expect(printed[1]).toContain(
      `@1  card.provisioned  ${cardB}  -  providerCardId=pc_${cardB.slice(0, 8)} last4=4242 expMonth=9 expYear=2030`,
    );
    expect(printed[2]).toMatch(
      /@2 {2}INVALID {2}card\.provisioned {2}poison-\S+ {2}- {2}reason="invalid envelope: /,
    );
    expect(lines(run.stderr)).toEqual([
      `# following ${topic} (3 partition(s)) from the beginning; Ctrl-C to stop`,
      '# stopped (max): 3 message(s) printed, 1 invalid',
    ]);
  });

  it('when tailed with --card, then only that card’s messages are printed', async () => {
    const run = await ops([
      'topics',
      'tail',
      topic,
      '--from-beginning',
      '--card',
      cardB,
      '--idle-exit',
      '1500',
    ]);

    expect(run.code).toBe(0);
    const printed = lines(run.stdout);
    expect(printed).toHaveLength(1);
    expect(printed[0]).toContain(`card.provisioned  ${cardB}`);
    expect(run.stderr).toContain('# stopped (idle): 1 message(s) printed, 0 invalid');
  });

  it('when tailed with --json, then each line is a JSON document with the decoded event or the reason', async () => {
    const run = await ops(['topics', 'tail', topic, '--from-beginning', '--max', '3', '--json']);

    expect(run.code).toBe(0);
    const documents = lines(run.stdout).map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(documents).toMatchObject([
      {
        topic,
        partition: 0,
        offset: '0',
        valid: true,
        event: { type: 'card.provision.requested', subject: cardA },
      },
      {
        offset: '1',
        valid: true,
        event: { type: 'card.provisioned', subject: cardB, data: { last4: '4242' } },
      },
      {
        offset: '2',
        valid: false,
        key: poisonKey,
        value: '{not json',
        headers: { ce_type: 'card.provisioned' },
      },
    ]);
  });

  it('when a dead-letter topic is tailed, then the dlq-* headers are in the line', async () => {
    const encoded = encodeEvent(provisioned(cardA));
    await producer.send({
      topic: deadLetterTopic(topic),
      messages: [
        {
          ...encoded,
          headers: {
            ...encoded.headers,
            [DeadLetterHeaders.reason]: 'retries exhausted: database unavailable',
            [DeadLetterHeaders.sourceTopic]: topic,
            [DeadLetterHeaders.sourcePartition]: '0',
            [DeadLetterHeaders.sourceOffset]: '1',
            [DeadLetterHeaders.attempts]: '5',
          },
        },
      ],
    });

    const run = await ops(['topics', 'tail', `${topic}.dlq`, '--from-beginning', '--max', '1']);

    expect(run.code).toBe(0);
    expect(lines(run.stdout)).toEqual([
      expect.stringMatching(
        new RegExp(
          `card\\.provisioned  ${cardA}  -  .*dlq-attempts=5 dlq-source=${topic.replaceAll('.', '\\.')}\\[0\\]@1 ` +
            'dlq-reason="retries exhausted: database unavailable"$',
        ),
      ),
    ]);
  });

  it('when following from the end, then a new event is printed, and SIGINT disconnects and exits 0', async () => {
    const child = spawn(process.execPath, [CLI, 'topics', 'tail', topic], {
      cwd: ROOT,
      env: { ...process.env, KAFKA_BROKERS: testKafkaBrokers().join(','), LOG_LEVEL: 'silent' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output = { stdout: '', stderr: '' };
    child.stdout.on('data', (chunk: Buffer) => (output.stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output.stderr += chunk.toString()));
    const exited = once(child, 'exit');
    try {
      await eventually(() => {
        expect(output.stderr).toContain(`# following ${topic} (3 partition(s)) from the end`);
      });
      const late = randomUUID();
      await producer.send({ topic, messages: [encodeEvent(provisioned(late))] });

      await eventually(() => {
        expect(lines(output.stdout)).toEqual([expect.stringContaining(`card.provisioned  ${late}`)]);
      });
      child.kill('SIGINT');
      const [code] = (await exited) as [number | null];

      expect(code).toBe(0);
      expect(output.stderr).toContain('# stopped (signal): 1 message(s) printed, 0 invalid');
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('when the topic does not exist, then it fails with one line and exit 1', async () => {
    const run = await ops(['topics', 'tail', `${topic}.nope`]);

    expect(run.code).toBe(1);
    expect(lines(run.stderr)).toEqual([`main-ops: failed: Error: topic ${topic}.nope does not exist`]);
  });
});
