import { randomUUID } from 'node:crypto';

import { CardSchema, encodeEvent, EventType, type AnyCardEvent } from '@cards/contracts';
import { createKafka } from '@cards/messaging';
import { createLogger } from '@cards/runtime';
import {
  eventually,
  histogramCount,
  metricValue,
  scrapeMetrics,
  testKafkaBrokers,
  type Exposition,
} from '@cards/test-support';
import type { Producer } from 'kafkajs';

import { start as startConsumer, type RunningCardEventsConsumer } from '../../src/main-card-events-consumer';
import { buildCardRequest, startCardApi, type CardApiHarness } from '../support/card-api';

const SAGA = 'card_saga_duration_seconds';

describe('card-events-consumer metrics on GET /metrics of its ops server', () => {
  let harness: CardApiHarness;
  let consumer: RunningCardEventsConsumer;
  let producer: Producer;
  let user: { token: string };
  let resultsTopic: string;

  beforeAll(async () => {
    harness = await startCardApi('metrics-card-events');
    resultsTopic = harness.topicEnv['TOPIC_PROVISIONING_RESULTS'] ?? '';
    consumer = await startConsumer(harness.config);
    producer = createKafka(
      { clientId: 'test-metrics-results', brokers: testKafkaBrokers() },
      createLogger({ service: 'test', level: 'silent' }),
    ).producer();
    await producer.connect();
    user = await harness.createUser();
  });

  afterAll(async () => {
    await consumer.stop();
    await producer.disconnect();
    await harness.stop();
  });

  const scrape = (): Promise<Exposition> => scrapeMetrics(consumer.url);
  const handled = (exposition: Exposition): number =>
    metricValue(exposition, 'kafka_messages_handled_total', { topic: resultsTopic });
  const lag = (exposition: Exposition): number =>
    metricValue(exposition, 'kafka_consumer_lag', {
      group: harness.config.CARD_EVENTS_GROUP_ID,
      topic: resultsTopic,
    });

  async function newCard(): Promise<string> {
    const response = await harness.request('/v1/cards', {
      method: 'POST',
      token: user.token,
      body: buildCardRequest(),
    });
    return CardSchema.parse(await response.json()).id;
  }

  async function send(...events: AnyCardEvent[]): Promise<void> {
    await producer.send({ topic: resultsTopic, messages: events.map(encodeEvent) });
  }

  function provisioned(cardId: string, id = randomUUID()): AnyCardEvent {
    return {
      id,
      type: EventType.provisioned,
      source: 'test',
      time: new Date().toISOString(),
      subject: cardId,
      data: { cardId, providerCardId: `pc_${randomUUID()}`, last4: '4242', expMonth: 9, expYear: 2029 },
    };
  }

  function rejected(cardId: string): AnyCardEvent {
    return {
      id: randomUUID(),
      type: EventType.provisioningFailed,
      source: 'test',
      time: new Date().toISOString(),
      subject: cardId,
      data: { cardId, code: 'PROVIDER_REJECTED', message: 'declined by issuer', attempts: 1 },
    };
  }

  it('when results make cards terminal, then the saga duration counts each once under its outcome, and a duplicate counts nowhere', async () => {
    const before = await scrape();
    const [activated, failed] = [await newCard(), await newCard()];
    const success = provisioned(activated);

    await send(success, rejected(failed));
    const applied = await eventually(async () => {
      const exposition = await scrape();
      expect(handled(exposition)).toBe(handled(before) + 2);
      return exposition;
    });
    await send(success);
    const after = await eventually(async () => {
      const exposition = await scrape();
      expect(handled(exposition)).toBe(handled(before) + 3);
      return exposition;
    });

    for (const outcome of ['ACTIVE', 'FAILED_PROVIDER_REJECTED']) {
      expect(histogramCount(applied, SAGA, { outcome })).toBe(histogramCount(before, SAGA, { outcome }) + 1);
      expect(histogramCount(after, SAGA, { outcome })).toBe(histogramCount(applied, SAGA, { outcome }));
    }
  });

  it('when a poison message arrives, then kafka_dead_letters_total counts it under its source topic', async () => {
    const deadLetters = (exposition: Exposition): number =>
      metricValue(exposition, 'kafka_dead_letters_total', { topic: resultsTopic });
    const before = await scrape();

    await producer.send({
      topic: resultsTopic,
      messages: [{ key: 'poison', value: 'this is not an event' }],
    });

    await eventually(async () => {
      expect(deadLetters(await scrape())).toBe(deadLetters(before) + 1);
    });
  });

  it('when the consumer is paused, then its lag grows with every result, and falls back to 0 once it resumes', async () => {
    await eventually(async () => {
      expect(lag(await scrape())).toBe(0);
    });

    consumer.consumer.pause();
    try {
      await send(provisioned(randomUUID()), provisioned(randomUUID()), provisioned(randomUUID()));
      await eventually(async () => {
        expect(lag(await scrape())).toBe(3);
      });
    } finally {
      consumer.consumer.resume();
    }

    await eventually(async () => {
      expect(lag(await scrape())).toBe(0);
    });
  });
});
