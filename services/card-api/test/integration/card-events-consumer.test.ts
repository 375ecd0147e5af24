import { randomUUID } from 'node:crypto';

import { CardSchema, encodeEvent, EventType, type AnyCardEvent } from '@cards/contracts';
import { createKafka } from '@cards/messaging';
import { createLogger } from '@cards/runtime';
import { eventually, testKafkaBrokers } from '@cards/test-support';
import type { Producer } from 'kafkajs';

import { start as startConsumer, type RunningCardEventsConsumer } from '../../src/main-card-events-consumer';
import { buildCardRequest, startCardApi, type CardApiHarness } from '../support/card-api';
import { TopicRecorder } from '../support/kafka';

describe('card-events-consumer', () => {
  let harness: CardApiHarness;
  let consumer: RunningCardEventsConsumer;
  let producer: Producer;
  let deadLetters: TopicRecorder;
  let user: { id: string; token: string };
  let resultsTopic: string;

  beforeAll(async () => {
    harness = await startCardApi('card-events');
    resultsTopic = harness.topicEnv['TOPIC_PROVISIONING_RESULTS'] ?? '';
    consumer = await startConsumer(harness.config);
    producer = createKafka(
      { clientId: 'test-results', brokers: testKafkaBrokers() },
      createLogger({ service: 'test', level: 'silent' }),
    ).producer();
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

  async function send(event: AnyCardEvent): Promise<void> {
    const encoded = encodeEvent(event);
    await producer.send({ topic: resultsTopic, messages: [encoded] });
  }

  function provisioned(
    cardId: string,
    providerCardId = `pc_${randomUUID()}`,
    id = randomUUID(),
  ): AnyCardEvent {
    return {
      id,
      type: EventType.provisioned,
      source: 'test',
      time: new Date().toISOString(),
      subject: cardId,
      data: { cardId, providerCardId, last4: '4242', expMonth: 9, expYear: 2029 },
    };
  }

  async function card(cardId: string) {
    const response = await harness.request(`/v1/cards/${cardId}`, { token: user.token });
    return CardSchema.parse(await response.json());
  }

  it('when card.provisioned arrives, then the card is ACTIVE with last4 and expiry', async () => {
    const cardId = await newCard();
    await send(provisioned(cardId));
    await eventually(async () => {
      expect(await card(cardId)).toMatchObject({
        status: 'ACTIVE',
        last4: '4242',
        expMonth: 9,
        expYear: 2029,
      });
    });
  });

  it('when card.provisioning.failed arrives, then the card is FAILED with the code and message', async () => {
    const cardId = await newCard();
    await send({
      id: randomUUID(),
      type: EventType.provisioningFailed,
      source: 'test',
      time: new Date().toISOString(),
      subject: cardId,
      data: { cardId, code: 'PROVIDER_REJECTED', message: 'declined by issuer', attempts: 1 },
    });
    await eventually(async () => {
      expect(await card(cardId)).toMatchObject({
        status: 'FAILED',
        failureCode: 'PROVIDER_REJECTED',
        failureMessage: 'declined by issuer',
      });
    });
  });

  it('when the same event is delivered twice, then it has one effect and one inbox row', async () => {
    const cardId = await newCard();
    const event = provisioned(cardId);
    await send(event);
    await send(event);
    const handled = await eventually(async () => {
      const rows = await harness
        .db('inbox')
        .where({ card_id: cardId })
        .select<{ event_id: string; outcome: string }[]>('event_id', 'outcome');
      expect(rows).toEqual([{ event_id: event.id, outcome: 'activated' }]);
      return rows;
    });
    expect(handled).toHaveLength(1);
  });

  it('when a success arrives for a card that already FAILED, then the card stays FAILED and a cancel is requested', async () => {
    const cardId = await newCard();
    await harness.db('cards').where({ id: cardId }).update({
      status: 'FAILED',
      failure_code: 'TIMED_OUT',
      failure_message: 'deadline',
      failed_at: new Date(),
    });
    await send(provisioned(cardId, 'pc_late'));

    await eventually(async () => {
      const cancel = await harness
        .db('outbox')
        .where({ key: cardId, type: EventType.cancelRequested })
        .first<{
          event: { data: { providerCardId: string } };
        }>('event');
      expect(cancel.event.data.providerCardId).toBe('pc_late');
    });
    expect(await card(cardId)).toMatchObject({ status: 'FAILED', failureCode: 'TIMED_OUT' });
  });

  it('when a message is not a valid event, then it goes to the dead-letter topic and the next one is applied', async () => {
    await producer.send({
      topic: resultsTopic,
      messages: [{ key: 'poison', value: '{not json', headers: { ce_type: 'card.provisioned' } }],
    });
    const cardId = await newCard();
    await send(provisioned(cardId));

    await eventually(() => {
      expect(deadLetters.raw.map((message) => message.key)).toContain('poison');
    });
    expect(deadLetters.raw.find((message) => message.key === 'poison')?.headers).toMatchObject({
      'dlq-source-topic': resultsTopic,
      'dlq-consumer-group': harness.config.CARD_EVENTS_GROUP_ID,
    });
    await eventually(async () => {
      expect((await card(cardId)).status).toBe('ACTIVE');
    });
  });
});
