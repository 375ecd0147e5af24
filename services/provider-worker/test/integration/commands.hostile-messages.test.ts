import { randomBytes, randomUUID } from 'node:crypto';

import { encodeEvent, EventType } from '@cards/contracts';
import { createKafka, DeadLetterHeaders } from '@cards/messaging';
import { createLogger } from '@cards/runtime';
import { headersOf, hostileEnvelopes, testKafkaBrokers, type HostileMessage } from '@cards/test-support';
import fc from 'fast-check';
import type { IHeaders, Producer } from 'kafkajs';

import { buildProvisionCommand } from '../support/fakes';
import { startWorkerFlow, type ReadMessage, type WorkerFlow } from '../support/provider-worker';

/** The headers of a real command, so that only the part under test is wrong; undefined drops a header. */
function commandHeaders(overrides: Record<string, string | Buffer | undefined> = {}): IHeaders {
  return headersOf(buildProvisionCommand(), overrides);
}

/** A command's headers and a value built from its data with some fields replaced: the envelope right, the data not. */
function commandWithData(data: Record<string, unknown>): { value: string; headers: IHeaders } {
  const command = buildProvisionCommand();
  const cardId = typeof data['cardId'] === 'string' ? data['cardId'] : command.data.cardId;
  return {
    value: JSON.stringify({ ...command.data, ...data }),
    headers: { ...encodeEvent(command).headers, ce_subject: cardId },
  };
}

const invalidData = /^invalid card\.provision\.requested data/;

describe('the commands consumer, when hostile messages arrive', () => {
  let flow: WorkerFlow;
  let producer: Producer;

  beforeAll(async () => {
    flow = await startWorkerFlow('commands-hostile');
    // A producer of its own: the flow's sends strings only, and hostile values are bytes.
    producer = createKafka(
      { clientId: `test-hostile-${flow.suffix}`, brokers: testKafkaBrokers() },
      createLogger({ service: 'test', level: 'silent' }),
    ).producer({ allowAutoTopicCreation: false });
    await producer.connect();
  });

  afterAll(async () => {
    await producer.disconnect();
    await flow.stop();
  });

  /** Sends the messages under fresh keys, then a valid command; waits for its result, then for every dead letter. */
  async function expectDeadLetteredThenProvisioned(
    messages: readonly HostileMessage[],
    options: { timeoutMs?: number } = {},
  ): Promise<ReadMessage[]> {
    const keyed = messages.map((message) => ({ ...message, key: `hostile-${randomUUID()}` }));
    await producer.send({
      topic: flow.topics.commands,
      acks: -1,
      messages: keyed.map(({ key, value, headers }) => ({ key, value, ...(headers && { headers }) })),
    });
    const valid = buildProvisionCommand();
    await flow.sendCommands(valid);

    // The consumer went on: the command sent after all of them is provisioned.
    const [result] = await flow.results.waitFor((read) => read.event?.subject === valid.data.cardId);
    expect(result?.event?.type).toBe(EventType.provisioned);
    const keys = new Set(keyed.map(({ key }) => key));
    const letters = await flow.deadLetters.waitFor((read) => read.key !== null && keys.has(read.key), {
      count: keyed.length,
      ...(options.timeoutMs !== undefined && { timeoutMs: options.timeoutMs }),
    });
    const wrongReasons = keyed.flatMap(({ key, name, reason }) => {
      const letter = letters.find((read) => read.key === key);
      const said = letter?.headers[DeadLetterHeaders.reason] ?? '';
      const from = letter?.headers[DeadLetterHeaders.sourceTopic];
      return reason.test(said) && from === flow.topics.commands ? [] : [{ name, said, from }];
    });
    expect(wrongReasons).toEqual([]);
    expect(flow.results.messages.filter((read) => read.key !== null && keys.has(read.key))).toEqual([]);
    return letters;
  }

  it('when values are not JSON, JSON of the wrong type, wrongly typed commands, bad envelopes or tombstones, then each is dead-lettered with its reason and the next command is provisioned', async () => {
    const notACardId = commandWithData({ cardId: "1' OR '1'='1" });
    const protoCarrier = buildProvisionCommand();
    const messages: HostileMessage[] = [
      { name: 'not JSON', value: 'not json {', headers: commandHeaders(), reason: /^value is not JSON$/ },
      { name: 'empty value', value: '', headers: commandHeaders(), reason: /^value is not JSON$/ },
      ...['[]', '[{"cardId":1}]', '42', '-1e309', '"a string"', 'null', 'true', '{}'].map((value) => ({
        name: `JSON ${value}`,
        value,
        headers: commandHeaders(),
        reason: invalidData,
      })),
      { name: 'colour as a number', ...commandWithData({ color: 7 }), reason: invalidData },
      { name: 'colour unknown', ...commandWithData({ color: 'red' }), reason: invalidData },
      { name: 'cardId not a UUID', ...notACardId, reason: invalidData },
      {
        name: 'cardholderRef as an object',
        ...commandWithData({ cardholderRef: { id: 1 } }),
        reason: invalidData,
      },
      {
        name: 'requestedAt not a date',
        ...commandWithData({ requestedAt: '2024-02-30T25:00:00Z' }),
        reason: invalidData,
      },
      {
        name: 'a __proto__ member',
        value: `${encodeEvent(protoCarrier).value.slice(0, -1)},"__proto__":{"polluted":true}}`,
        headers: { ...encodeEvent(protoCarrier).headers },
        reason: invalidData,
      },
      {
        name: 'duplicated keys, the last one wrong',
        value: '{"cardId":"00000000-0000-4000-8000-000000000000","color":"gold","color":7}',
        headers: commandHeaders({ ce_subject: '00000000-0000-4000-8000-000000000000' }),
        reason: invalidData,
      },
      {
        name: 'ce_subject other than data.cardId',
        value: encodeEvent(buildProvisionCommand()).value,
        headers: commandHeaders(),
        reason: /^ce_subject does not match data\.cardId$/,
      },
      ...hostileEnvelopes(() => buildProvisionCommand()),
    ];

    await expectDeadLetteredThenProvisioned(messages);
  }, 60_000);

  it('when a value of about 900 kB arrives, then it is dead-lettered whole and the next command is provisioned', async () => {
    const command = buildProvisionCommand();
    const value = JSON.stringify({ ...command.data, padding: 'x'.repeat(900_000) });
    const [letter] = await expectDeadLetteredThenProvisioned([
      {
        name: 'large',
        value,
        headers: { ...encodeEvent(command).headers },
        reason: invalidData,
      },
    ]);
    expect(letter?.value).toBe(value);
  }, 60_000);

  it('when random bytes arrive as value and header values, then each message is dead-lettered and the next command is provisioned', async () => {
    const bytes = fc.uint8Array({ maxLength: 4096 }).map((array) => Buffer.from(array));
    const hostile = fc.record({
      value: bytes,
      headers: fc.oneof(
        fc.constant(undefined),
        fc.constant(commandHeaders()),
        fc.dictionary(fc.constantFrom('ce_type', 'ce_id', 'content-type', 'ce_subject', 'x'), bytes, {
          maxKeys: 4,
        }),
      ),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(hostile, { minLength: 1, maxLength: 8 }), async (batch) => {
        await expectDeadLetteredThenProvisioned(
          batch.map(({ value, headers }, index) => ({
            name: `random bytes ${index}`,
            value,
            ...(headers && { headers }),
            reason: /^(invalid envelope|value is not JSON|invalid card\.)/,
          })),
        );
      }),
      // Each run waits for a provider round trip; a handful of batches covers the shapes without a minute's wait.
      { numRuns: 4 },
    );
  }, 60_000);

  it('when about 700 kB of random bytes arrive, under the broker limit as sent, then they are dead-lettered and the next command is provisioned', async () => {
    // Read as UTF-8 text, random bytes about double (each invalid byte becomes a 3-byte U+FFFD): a dead letter that
    // re-encodes the value instead of copying its bytes outgrows the broker's 1 MB limit, though the message fit.
    await expectDeadLetteredThenProvisioned(
      [
        {
          name: 'large random bytes',
          value: randomBytes(700_000),
          headers: commandHeaders(),
          reason: /^value is not JSON$/,
        },
      ],
      { timeoutMs: 15_000 },
    );
  }, 60_000);
});
