import { randomBytes, randomUUID } from 'node:crypto';

import { CardSchema, encodeEvent, EventType } from '@cards/contracts';
import { createKafka, DeadLetterHeaders } from '@cards/messaging';
import { createLogger } from '@cards/runtime';
import {
  eventually,
  headersOf,
  hostileEnvelopes,
  provisionedEvent,
  startServiceProcess,
  testKafkaBrokers,
  type HostileMessage,
  type ServiceProcess,
} from '@cards/test-support';
import fc from 'fast-check';
import type { IHeaders, Producer } from 'kafkajs';

import { start as startConsumer, type RunningCardEventsConsumer } from '../../src/main-card-events-consumer';
import { buildCardRequest, startCardApi, type CardApiHarness } from '../support/card-api';
import { TopicRecorder } from '../support/kafka';

/** The headers of a real result, so that only the part under test is wrong; undefined drops a header. */
function resultHeaders(overrides: Record<string, string | Buffer | undefined> = {}): IHeaders {
  return headersOf(provisionedEvent(), overrides);
}

/** A result's headers and a value built from its data with some fields replaced: the envelope right, the data not. */
function resultWithData(
  data: Record<string, unknown>,
  type: typeof EventType.provisioned | typeof EventType.provisioningFailed = EventType.provisioned,
): { value: string; headers: IHeaders } {
  const event = provisionedEvent();
  const base =
    type === EventType.provisioned
      ? event.data
      : { cardId: event.subject, code: 'PROVIDER_REJECTED', message: 'no', attempts: 1 };
  const cardId = typeof data['cardId'] === 'string' ? data['cardId'] : event.subject;
  return {
    value: JSON.stringify({ ...base, ...data }),
    headers: { ...encodeEvent(event).headers, ce_type: type, ce_subject: cardId },
  };
}

const invalidProvisioned = /^invalid card\.provisioned data/;

describe('card-events-consumer, when hostile messages arrive', () => {
  let harness: CardApiHarness;
  let consumer: RunningCardEventsConsumer;
  let producer: Producer;
  let deadLetters: TopicRecorder;
  let user: { token: string };
  let resultsTopic: string;

  beforeAll(async () => {
    harness = await startCardApi('card-events-hostile', {
      // Every batch below ends with a new card for one user.
      CARD_LIMIT_PER_USER: '1000',
      RATE_LIMIT_CARD_CREATE_PER_USER: '1000000',
    });
    resultsTopic = harness.topicEnv['TOPIC_PROVISIONING_RESULTS'] ?? '';
    consumer = await startConsumer(harness.config);
    producer = createKafka(
      { clientId: 'test-hostile-results', brokers: testKafkaBrokers() },
      createLogger({ service: 'test', level: 'silent' }),
    ).producer({ allowAutoTopicCreation: false });
    await producer.connect();
    deadLetters = await new TopicRecorder(`${resultsTopic}.dlq`).start();
    user = await harness.createUser();
  });

  afterAll(async () => {
    await consumer.stop();
    await producer.disconnect();
    await deadLetters.stop();
    await harness.stop();
  });

  async function newCard(): Promise<string> {
    const response = await harness.request('/v1/cards', {
      method: 'POST',
      token: user.token,
      body: buildCardRequest(),
    });
    return CardSchema.parse(await response.json()).id;
  }

  async function statusOf(cardId: string): Promise<string> {
    const response = await harness.request(`/v1/cards/${cardId}`, { token: user.token });
    return CardSchema.parse(await response.json()).status;
  }

  /**
   * Sends the messages under fresh keys, then a valid result for a new card; waits until that card is ACTIVE (the
   * consumer went on), then for every dead letter, each with the reason it should give.
   */
  async function expectDeadLetteredThenApplied(
    messages: readonly HostileMessage[],
    options: { timeoutMs?: number } = {},
  ): Promise<void> {
    const keyed = messages.map((message) => ({ ...message, key: `hostile-${randomUUID()}` }));
    const rowsBefore = await harness.db('inbox').count<{ count: string }[]>({ count: '*' });
    await producer.send({
      topic: resultsTopic,
      acks: -1,
      messages: keyed.map(({ key, value, headers }) => ({ key, value, ...(headers && { headers }) })),
    });
    const cardId = await newCard();
    await producer.send({ topic: resultsTopic, acks: -1, messages: [encodeEvent(provisionedEvent(cardId))] });

    await eventually(async () => {
      expect(await statusOf(cardId)).toBe('ACTIVE');
    }, options);
    const keys = new Set(keyed.map(({ key }) => key));
    const letters = await eventually(() => {
      const found = deadLetters.raw.filter((letter) => letter.key !== null && keys.has(letter.key));
      expect(found).toHaveLength(keyed.length);
      return found;
    }, options);
    const wrongReasons = keyed.flatMap(({ key, name, reason }) => {
      const letter = letters.find((read) => read.key === key);
      const said = letter?.headers[DeadLetterHeaders.reason] ?? '';
      const from = letter?.headers[DeadLetterHeaders.sourceTopic];
      return reason.test(said) && from === resultsTopic ? [] : [{ name, said, from }];
    });
    expect(wrongReasons).toEqual([]);
    // Nothing of them reached the inbox: only the valid result did.
    const rowsAfter = await harness.db('inbox').count<{ count: string }[]>({ count: '*' });
    expect(Number(rowsAfter[0]?.count) - Number(rowsBefore[0]?.count)).toBe(1);
  }

  it('when values are not JSON, JSON of the wrong type, wrongly typed results, bad envelopes or tombstones, then each is dead-lettered with its reason and the next result is applied', async () => {
    const protoCarrier = provisionedEvent();
    const messages: HostileMessage[] = [
      { name: 'not JSON', value: '{not json', headers: resultHeaders(), reason: /^value is not JSON$/ },
      { name: 'empty value', value: '', headers: resultHeaders(), reason: /^value is not JSON$/ },
      ...['[]', '[{"cardId":1}]', '42', '1e309', '"a string"', 'null', 'false', '{}'].map((value) => ({
        name: `JSON ${value}`,
        value,
        headers: resultHeaders(),
        reason: invalidProvisioned,
      })),
      { name: 'last4 as a number', ...resultWithData({ last4: 4242 }), reason: invalidProvisioned },
      { name: 'last4 of five digits', ...resultWithData({ last4: '42424' }), reason: invalidProvisioned },
      { name: 'expMonth 13', ...resultWithData({ expMonth: 13 }), reason: invalidProvisioned },
      { name: 'expYear as a string', ...resultWithData({ expYear: '2029' }), reason: invalidProvisioned },
      { name: 'expYear huge', ...resultWithData({ expYear: 2 ** 63 }), reason: invalidProvisioned },
      {
        name: 'cardId not a UUID',
        ...resultWithData({ cardId: "1' OR '1'='1" }),
        reason: invalidProvisioned,
      },
      { name: 'providerCardId empty', ...resultWithData({ providerCardId: '' }), reason: invalidProvisioned },
      {
        name: 'providerCardId too long',
        ...resultWithData({ providerCardId: 'p'.repeat(101) }),
        reason: invalidProvisioned,
      },
      {
        name: 'failure code unknown',
        ...resultWithData({ code: 'NOPE' }, EventType.provisioningFailed),
        reason: /^invalid card\.provisioning\.failed data/,
      },
      {
        name: 'failure attempts negative',
        ...resultWithData({ attempts: -1 }, EventType.provisioningFailed),
        reason: /^invalid card\.provisioning\.failed data/,
      },
      {
        name: 'a __proto__ member',
        value: `${encodeEvent(protoCarrier).value.slice(0, -1)},"__proto__":{"polluted":true}}`,
        headers: { ...encodeEvent(protoCarrier).headers },
        reason: invalidProvisioned,
      },
      {
        name: 'ce_subject other than data.cardId',
        value: encodeEvent(provisionedEvent()).value,
        headers: resultHeaders(),
        reason: /^ce_subject does not match data\.cardId$/,
      },
      ...hostileEnvelopes(() => provisionedEvent()),
    ];

    await expectDeadLetteredThenApplied(messages);
  }, 60_000);

  it('when a value of about 900 kB arrives, then it is dead-lettered and the next result is applied', async () => {
    const event = provisionedEvent();
    await expectDeadLetteredThenApplied([
      {
        name: 'large',
        value: JSON.stringify({ ...event.data, padding: 'x'.repeat(900_000) }),
        headers: { ...encodeEvent(event).headers },
        reason: invalidProvisioned,
      },
    ]);
  }, 60_000);

  it('when random bytes arrive as value and header values, then each message is dead-lettered and the next result is applied', async () => {
    const bytes = fc.uint8Array({ maxLength: 4096 }).map((array) => Buffer.from(array));
    const hostile = fc.record({
      value: bytes,
      headers: fc.oneof(
        fc.constant(undefined),
        fc.constant(resultHeaders()),
        fc.dictionary(fc.constantFrom('ce_type', 'ce_id', 'content-type', 'ce_subject', 'x'), bytes, {
          maxKeys: 4,
        }),
      ),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(hostile, { minLength: 1, maxLength: 8 }), async (batch) => {
        await expectDeadLetteredThenApplied(
          batch.map(({ value, headers }, index) => ({
            name: `random bytes ${index}`,
            value,
            ...(headers && { headers }),
            reason: /^(invalid envelope|value is not JSON|invalid card\.)/,
          })),
        );
      }),
      // Each run waits for a card to become ACTIVE; a handful of batches covers the shapes without a minute's wait.
      { numRuns: 4 },
    );
  }, 60_000);

  it('when a result carries NUL or an unpaired surrogate in text the database would store, then it is dead-lettered at once and the next result is applied', async () => {
    // Before the contracts refused them, each failed its handler on every attempt: eight attempts took longer than
    // the consumer's session, so it lost its partitions, never committed, and retried the same message for ever.
    const nul = '\u0000';
    const withNul = (header: string): HostileMessage => {
      const event = provisionedEvent();
      return {
        name: `${header} with NUL`,
        value: encodeEvent(event).value,
        headers: { ...encodeEvent(event).headers, [header]: `x${nul}y` },
        reason: /^invalid envelope/,
      };
    };
    await expectDeadLetteredThenApplied([
      withNul('ce_id'),
      withNul('ce_source'),
      withNul('correlation-id'),
      {
        name: 'providerCardId with NUL',
        ...resultWithData({ providerCardId: `pc${nul}` }),
        reason: invalidProvisioned,
      },
      {
        name: 'providerCardId with an unpaired surrogate',
        ...resultWithData({ providerCardId: 'pc\ud800' }),
        reason: invalidProvisioned,
      },
      {
        name: 'failure message with NUL',
        ...resultWithData({ message: `declined${nul}` }, EventType.provisioningFailed),
        reason: /^invalid card\.provisioning\.failed data/,
      },
    ]);
  }, 60_000);
});

describe('card-events-consumer as its own process, when a dead letter would outgrow the broker limit', () => {
  const name = 'card-events-hostile-consumer';
  let harness: CardApiHarness;
  let consumerProcess: ServiceProcess;
  let producer: Producer;
  let deadLetters: TopicRecorder;
  let token: string;

  beforeAll(async () => {
    harness = await startCardApi('card-events-oversized');
    // A process of its own, as in production: a consumer that gives up exits its process, which a test in this
    // process could not survive.
    consumerProcess = await startServiceProcess({
      name,
      service: 'card-api',
      entry: 'main-card-events-consumer',
      env: {
        NODE_ENV: 'test',
        LOG_LEVEL: 'info',
        DATABASE_URL: harness.database.url,
        KAFKA_BROKERS: harness.config.KAFKA_BROKERS.join(','),
        CARD_EVENTS_HTTP_PORT: '0',
        ...harness.topicEnv,
      },
    });
    producer = createKafka(
      { clientId: 'test-oversized-results', brokers: testKafkaBrokers() },
      createLogger({ service: 'test', level: 'silent' }),
    ).producer({ allowAutoTopicCreation: false });
    await producer.connect();
    deadLetters = await new TopicRecorder(
      `${harness.topicEnv['TOPIC_PROVISIONING_RESULTS'] ?? ''}.dlq`,
    ).start();
    ({ token } = await harness.createUser());
  });

  afterAll(async () => {
    await consumerProcess.stop();
    await producer.disconnect();
    await deadLetters.stop();
    await harness.stop();
  });

  it('when about 700 kB of random bytes arrive, under the broker limit as sent, then they are dead-lettered and the process goes on applying results', async () => {
    // Read as UTF-8 text, random bytes about double (each invalid byte becomes a 3-byte U+FFFD): a dead letter that
    // re-encodes the value instead of copying its bytes outgrows the broker's 1 MB limit, though the message fit.
    const topic = harness.topicEnv['TOPIC_PROVISIONING_RESULTS'] ?? '';
    const key = `hostile-${randomUUID()}`;
    await producer.send({
      topic,
      acks: -1,
      messages: [{ key, value: randomBytes(700_000), headers: resultHeaders() }],
    });
    const created = await harness.request('/v1/cards', { method: 'POST', token, body: buildCardRequest() });
    const cardId = CardSchema.parse(await created.json()).id;
    await producer.send({ topic, acks: -1, messages: [encodeEvent(provisionedEvent(cardId))] });

    // A process that exited ends the waiting at once, with its exit code as the answer.
    const exit: { code?: number | null } = {};
    void consumerProcess.exited.then((code) => {
      exit.code = code;
    });
    const unlessExited = async (check: () => Promise<void> | void): Promise<string> =>
      eventually(
        async () => {
          if (exit.code !== undefined) {
            return `${name} exited with code ${String(exit.code)}; see .run/test-logs/${name}.log`;
          }
          await check();
          return 'running';
        },
        { timeoutMs: 20_000 },
      );
    const applied = await unlessExited(async () => {
      const response = await harness.request(`/v1/cards/${cardId}`, { token });
      expect(CardSchema.parse(await response.json()).status).toBe('ACTIVE');
    });
    expect(applied).toBe('running');
    const deadLettered = await unlessExited(() => {
      const letter = deadLetters.raw.find((read) => read.key === key);
      expect(letter?.headers[DeadLetterHeaders.reason]).toBe('value is not JSON');
    });
    expect(deadLettered).toBe('running');
  }, 60_000);
});
