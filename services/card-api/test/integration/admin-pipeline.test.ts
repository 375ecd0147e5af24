import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';

import {
  AuditListSchema,
  DeadLetterListSchema,
  PipelineStatusSchema,
  ProblemSchema,
  ReplayDeadLetterResponseSchema,
} from '@cards/contracts';
import { createKafka } from '@cards/messaging';
import { createLogger } from '@cards/runtime';
import { eventually, testKafkaBrokers, uniqueSuffix } from '@cards/test-support';
import type { Producer } from 'kafkajs';

import { relaySessionName } from '../../src/data-access/relay-lease';
import { start as startConsumer, type RunningCardEventsConsumer } from '../../src/main-card-events-consumer';
import { start as startRelay } from '../../src/main-outbox-relay';
import { runOps } from '../../src/main-ops';
import { buildCardRequest, startCardApi, type CardApiHarness } from '../support/card-api';
import { TopicRecorder } from '../support/kafka';

describe('GET /v1/admin/pipeline, GET /v1/admin/dead-letters, POST /v1/admin/dead-letters/replay', () => {
  let harness: CardApiHarness;
  let consumer: RunningCardEventsConsumer;
  let producer: Producer;
  let results: TopicRecorder;
  let deadLetters: TopicRecorder;
  let commandsTopic: string;
  let resultsTopic: string;
  const providerWorkerGroup = `test.provider-worker.${uniqueSuffix()}`;
  const poison = { key: `poison-${randomUUID()}`, ceId: `poison-${randomUUID()}` };

  beforeAll(async () => {
    // No outbox relay and no provider-worker run here: the backlog stays, and the worker's group never commits.
    harness = await startCardApi('admin-pipeline', { PROVIDER_WORKER_GROUP_ID: providerWorkerGroup });
    commandsTopic = harness.config.TOPIC_PROVISIONING_COMMANDS;
    resultsTopic = harness.config.TOPIC_PROVISIONING_RESULTS;
    consumer = await startConsumer(harness.config);
    producer = createKafka(
      { clientId: 'test-admin-pipeline', brokers: testKafkaBrokers() },
      createLogger({ service: 'test', level: 'silent' }),
    ).producer();
    await producer.connect();
    results = await new TopicRecorder(resultsTopic).start();
    deadLetters = await new TopicRecorder(`${resultsTopic}.dlq`).start();

    // Two commands nobody consumes, and a poison result the card-events consumer dead-letters.
    await producer.send({
      topic: commandsTopic,
      messages: [
        { key: 'k1', value: '{}' },
        { key: 'k2', value: '{}' },
      ],
    });
    await producer.send({
      topic: resultsTopic,
      messages: [
        {
          key: poison.key,
          value: '{"secret":"card data"}',
          headers: { ce_type: 'card.provisioned', ce_id: poison.ceId },
        },
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

  async function pipeline() {
    const response = await harness.request('/v1/admin/pipeline', { token: harness.adminToken });
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('private, no-cache');
    return PipelineStatusSchema.parse(await response.json());
  }

  function replay(body: object): Promise<Response> {
    return harness.request('/v1/admin/dead-letters/replay', {
      method: 'POST',
      token: harness.adminToken,
      body: JSON.stringify(body),
    });
  }

  it('when cards wait in the outbox and one fails to publish, then the pipeline shows the backlog, its age and the failing row', async () => {
    const { token } = await harness.createUser();
    for (let index = 0; index < 2; index += 1) {
      await harness.request('/v1/cards', { method: 'POST', token, body: buildCardRequest() });
    }
    const first = await harness.db('outbox').orderBy('id').first<{ id: string }>('id');
    await harness.db('outbox').where({ id: first.id }).update({ attempts: 2, last_error: 'broker down' });

    const status = await pipeline();

    expect(status.outbox).toMatchObject({ backlog: 2, failingRows: 1 });
    expect(status.outbox.oldestAgeSeconds).toBeGreaterThanOrEqual(0);
    expect(status.kafka).toEqual({ available: true, error: null });
  });

  it('when a row is quarantined, then the pipeline counts it apart from the backlog and lists it with its card and why', async () => {
    const last = await harness
      .db('outbox')
      .orderBy('id', 'desc')
      .first<{ id: string; key: string }>('id', 'key');
    await harness
      .db('outbox')
      .where({ id: last.id })
      .update({ quarantined_at: harness.db.fn.now(), attempts: 5, last_error: 'record too large' });
    try {
      const status = await pipeline();

      expect(status.outbox).toMatchObject({
        backlog: 1,
        quarantinedRows: 1,
        quarantined: [
          { id: last.id, cardId: last.key, attempts: 5, lastError: 'record too large', waitingBehind: 0 },
        ],
      });
    } finally {
      await harness.db('outbox').where({ id: last.id }).update({ quarantined_at: null });
    }
  });

  it('when the worker never consumed and the card-events consumer keeps up, then the lag is the unread commands and zero, and the members own their partitions', async () => {
    await eventually(async () => {
      const status = await pipeline();
      expect(status.consumers).toEqual([
        { groupId: providerWorkerGroup, topic: commandsTopic, lag: 2, members: [] },
        {
          groupId: harness.config.CARD_EVENTS_GROUP_ID,
          topic: resultsTopic,
          lag: 0,
          // The one consumer owns every partition, and its client id says which process it is.
          members: [
            {
              clientId: `${harness.config.KAFKA_CLIENT_ID}-card-events`,
              memberId: expect.stringContaining(`${harness.config.KAFKA_CLIENT_ID}-card-events`) as string,
              host: expect.stringMatching(/\d+\.\d+\.\d+\.\d+/) as string,
              partitions: [0, 1, 2],
            },
          ],
        },
      ]);
    });
  });

  it('when a poison result was dead-lettered, then the pipeline counts it on the results dead-letter topic', async () => {
    const status = await pipeline();

    expect(status.deadLetters).toEqual([
      { topic: commandsTopic, deadLetterTopic: `${commandsTopic}.dlq`, count: 0 },
      { topic: resultsTopic, deadLetterTopic: `${resultsTopic}.dlq`, count: 1 },
    ]);
  });

  it('when the dead letters are listed, by the main topic or the .dlq, then each has why and where, never the value', async () => {
    for (const topic of [resultsTopic, `${resultsTopic}.dlq`]) {
      const response = await harness.request(`/v1/admin/dead-letters?topic=${encodeURIComponent(topic)}`, {
        token: harness.adminToken,
      });
      expect(response.status).toBe(200);
      const text = await response.text();
      expect(text).not.toContain('card data');
      const letters = DeadLetterListSchema.parse(JSON.parse(text)).data;
      expect(letters).toHaveLength(1);
      const { partition, offset, reason, failedAt, ...letter } = letters[0]!;
      expect(letter).toEqual({
        topic: `${resultsTopic}.dlq`,
        key: poison.key,
        ceId: poison.ceId,
        ceType: 'card.provisioned',
        attempts: '0',
      });
      expect([partition, offset]).toEqual([expect.any(Number), expect.stringMatching(/^\d+$/)]);
      expect(reason).toContain('invalid envelope');
      expect(failedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
      expect(Object.keys((JSON.parse(text) as { data: object[] }).data[0] ?? {})).not.toContain('value');
    }
  });

  it('when a topic is not one of the system’s, then listing and replaying are 400', async () => {
    const list = await harness.request('/v1/admin/dead-letters?topic=__consumer_offsets', {
      token: harness.adminToken,
    });
    const replayed = await replay({ topic: 'someone.elses.topic', eventId: poison.ceId });

    expect(list.status).toBe(400);
    expect(ProblemSchema.parse(await list.json()).code).toBe('VALIDATION_FAILED');
    expect(replayed.status).toBe(400);
  });

  it('when no dead letter matches, then replay is 404 DEAD_LETTER_NOT_FOUND and nothing is audited', async () => {
    const before = await harness
      .db('audit_log')
      .where({ action: 'dead-letter.replay' })
      .count<{ n: string }[]>({
        n: '*',
      });

    const byId = await replay({ topic: resultsTopic, eventId: `missing-${randomUUID()}` });
    const byOffset = await replay({ topic: resultsTopic, partition: 0, offset: '999999' });

    expect(byId.status).toBe(404);
    expect(ProblemSchema.parse(await byId.json()).code).toBe('DEAD_LETTER_NOT_FOUND');
    expect(byOffset.status).toBe(404);
    expect(
      await harness
        .db('audit_log')
        .where({ action: 'dead-letter.replay' })
        .count<{ n: string }[]>({ n: '*' }),
    ).toEqual(before);
  });

  it('when the body names neither an event id nor a position, then it is 422', async () => {
    const response = await replay({ topic: resultsTopic, offset: '1' });
    expect(response.status).toBe(422);
  });

  it('when a dead letter is replayed by event id, then it is on the main topic again and the audit log says who did it', async () => {
    const requestId = `replay-${randomUUID()}`;

    const response = await harness.request('/v1/admin/dead-letters/replay', {
      method: 'POST',
      token: harness.adminToken,
      body: JSON.stringify({ topic: resultsTopic, eventId: poison.ceId }),
      headers: { 'x-request-id': requestId },
    });

    expect(response.status).toBe(200);
    const body = ReplayDeadLetterResponseSchema.parse(await response.json());
    expect(body.topic).toBe(resultsTopic);
    expect(body.replayed.map(({ ceId, ceType }) => ({ ceId, ceType }))).toEqual([
      { ceId: poison.ceId, ceType: 'card.provisioned' },
    ]);
    await eventually(() => {
      const copies = results.raw.filter((message) => message.key === poison.key);
      expect(copies).toHaveLength(2);
      expect(copies[1]?.headers).toEqual({ ce_type: 'card.provisioned', ce_id: poison.ceId });
    });
    const audit = AuditListSchema.parse(
      await (await harness.request('/v1/admin/audit?limit=1', { token: harness.adminToken })).json(),
    );
    expect(audit.data[0]).toMatchObject({
      actor: { externalId: harness.config.ADMIN_EXTERNAL_ID },
      action: 'dead-letter.replay',
      target: resultsTopic,
      requestId,
      details: { deadLetterTopic: `${resultsTopic}.dlq`, selection: { id: poison.ceId }, replayed: 1 },
    });
    // Still poison: dead-lettered again, and the pipeline counts both copies.
    await eventually(async () => {
      const status = await pipeline();
      expect(status.deadLetters.find((entry) => entry.topic === resultsTopic)?.count).toBe(2);
    });
  });

  it('when a dead letter is replayed by partition and offset, then that one is re-published', async () => {
    const listed = DeadLetterListSchema.parse(
      await (
        await harness.request(`/v1/admin/dead-letters?topic=${resultsTopic}`, { token: harness.adminToken })
      ).json(),
    ).data;
    const letter = listed[0]!;

    const response = await replay({
      topic: `${resultsTopic}.dlq`,
      partition: letter.partition,
      offset: letter.offset,
    });

    expect(response.status).toBe(200);
    expect(ReplayDeadLetterResponseSchema.parse(await response.json()).replayed).toEqual([
      { partition: letter.partition, offset: letter.offset, ceId: poison.ceId, ceType: 'card.provisioned' },
    ]);
    await eventually(() => {
      expect(results.raw.filter((message) => message.key === poison.key)).toHaveLength(3);
    });
  });

  it('when the operator CLI replays a dead letter, then the audit log names ops-cli', async () => {
    await runOps(['dlq', 'replay', resultsTopic, '--id', poison.ceId, '--yes'], {
      out: () => undefined,
      loadConfig: () => harness.config,
    });

    const audit = AuditListSchema.parse(
      await (await harness.request('/v1/admin/audit?limit=1', { token: harness.adminToken })).json(),
    );
    expect(audit.data[0]).toMatchObject({
      actor: { userId: null, externalId: 'ops-cli' },
      action: 'dead-letter.replay',
      target: resultsTopic,
      requestId: null,
      details: { selection: { id: poison.ceId }, replayed: 1 },
    });
  });

  // Last: the relay publishes the backlog the tests above count.
  it('when no relay runs, then no lease holder is shown; when one runs, then the pipeline names its session by host and pid', async () => {
    expect((await pipeline()).relay).toEqual({ holder: null });

    const relay = await startRelay({ ...harness.config, OUTBOX_POLL_INTERVAL_MS: 100 });
    try {
      await eventually(async () => {
        const { holder } = (await pipeline()).relay;
        expect(holder).toEqual({
          applicationName: relaySessionName(hostname(), process.pid),
          clientAddr: expect.any(String) as string,
          since: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) as string,
        });
      });
    } finally {
      await relay.stop();
    }
    await eventually(async () => {
      expect((await pipeline()).relay).toEqual({ holder: null });
    });
  });
});
