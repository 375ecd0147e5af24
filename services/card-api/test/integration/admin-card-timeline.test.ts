import { randomUUID } from 'node:crypto';

import {
  AdminCardDetailSchema,
  CardSchema,
  encodeEvent,
  EventType,
  ProblemSchema,
  type AnyCardEvent,
  type Card,
} from '@cards/contracts';
import { createKafka } from '@cards/messaging';
import { createLogger } from '@cards/runtime';
import { eventually, testKafkaBrokers } from '@cards/test-support';
import type { Producer } from 'kafkajs';

import { start as startConsumer, type RunningCardEventsConsumer } from '../../src/main-card-events-consumer';
import { runOps } from '../../src/main-ops';
import { start as startRelay, type RunningRelay } from '../../src/main-outbox-relay';
import { buildCardRequest, startCardApi, type CardApiHarness } from '../support/card-api';

describe('GET /v1/admin/cards/{cardId}: a card and its saga timeline', () => {
  let harness: CardApiHarness;
  let relay: RunningRelay;
  let consumer: RunningCardEventsConsumer;
  let producer: Producer;
  let token: string;

  beforeAll(async () => {
    harness = await startCardApi('admin-card-timeline');
    relay = await startRelay({ ...harness.config, OUTBOX_POLL_INTERVAL_MS: 100 });
    consumer = await startConsumer(harness.config);
    producer = createKafka(
      { clientId: 'test-admin-card-timeline', brokers: testKafkaBrokers() },
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

  /** A result as provider-worker publishes it, answered by the provider at `time`. */
  async function sendResult(type: AnyCardEvent['type'], card: Card, data: object, time = new Date()) {
    const event = {
      id: randomUUID(),
      type,
      source: 'provider-worker',
      time: time.toISOString(),
      subject: card.id,
      data: { cardId: card.id, ...data },
    } as AnyCardEvent;
    await producer.send({ topic: harness.config.TOPIC_PROVISIONING_RESULTS, messages: [encodeEvent(event)] });
    return event;
  }

  async function requestCard(requestId: string): Promise<Card> {
    const response = await harness.request('/v1/cards', {
      method: 'POST',
      token,
      body: buildCardRequest({ color: 'silver' }),
      headers: { 'x-request-id': requestId },
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

  async function status(cardId: string, expected: string): Promise<void> {
    await eventually(async () => {
      expect(await harness.db('cards').where({ id: cardId }).first('status')).toEqual({ status: expected });
    });
  }

  async function detail(cardId: string) {
    const response = await harness.request(`/v1/admin/cards/${cardId}`, { token: harness.adminToken });
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('private, no-cache');
    return AdminCardDetailSchema.parse(await response.json());
  }

  it('when the provider failed after retries, then the timeline reads request, publish, provider answer at its time, result, FAILED, with the request id', async () => {
    const requestId = `timeline-${randomUUID()}`;
    const card = await requestCard(requestId);
    await published(card.id, EventType.provisionRequested);
    const answeredAt = new Date();
    const failure = await sendResult(
      EventType.provisioningFailed,
      card,
      { code: 'PROVIDER_UNAVAILABLE', message: 'provider down', attempts: 3 },
      answeredAt,
    );
    await status(card.id, 'FAILED');

    const view = await detail(card.id);

    expect(view.card).toMatchObject({
      id: card.id,
      status: 'FAILED',
      color: 'silver',
      correlationId: requestId,
      failureCode: 'PROVIDER_UNAVAILABLE',
    });
    expect(view.timeline.map((entry) => [entry.kind, entry.summary])).toEqual([
      ['requested', 'card requested: PENDING, silver'],
      ['outbox', 'card.provision.requested written to the outbox'],
      ['published', `card.provision.requested published to ${harness.config.TOPIC_PROVISIONING_COMMANDS}`],
      ['provider', 'provider call failed after 3 attempt(s): PROVIDER_UNAVAILABLE "provider down"'],
      ['result', 'card.provisioning.failed received: failed'],
      ['failed', 'FAILED: PROVIDER_UNAVAILABLE "provider down"'],
    ]);
    expect(view.timeline[0]?.requestId).toBe(requestId);
    expect(view.timeline[3]).toMatchObject({ at: answeredAt.toISOString(), eventId: failure.id });
  });

  it('when a card was provisioned, then the provider answer comes before the result and ACTIVE, and the CLI prints the same document', async () => {
    const card = await requestCard(`timeline-${randomUUID()}`);
    await published(card.id, EventType.provisionRequested);
    await sendResult(EventType.provisioned, card, {
      providerCardId: 'pc_timeline',
      last4: '4242',
      expMonth: 9,
      expYear: 2030,
    });
    await status(card.id, 'ACTIVE');

    const view = await detail(card.id);
    const lines: string[] = [];
    await runOps(['cards', 'show', card.id, '--json'], {
      out: (line) => lines.push(line),
      loadConfig: () => harness.config,
    });

    expect(view.timeline.map((entry) => entry.kind)).toEqual([
      'requested',
      'outbox',
      'published',
      'provider',
      'result',
      'activated',
    ]);
    expect(view.timeline[3]?.summary).toBe('provider call succeeded: provider card pc_timeline');
    expect(JSON.parse(lines[0] ?? '')).toEqual(view);
  });

  it('when the inbox row predates the provider columns, then the timeline still renders it', async () => {
    const card = await requestCard(`timeline-${randomUUID()}`);
    await published(card.id, EventType.provisionRequested);
    await harness.db('inbox').insert({
      event_id: randomUUID(),
      type: EventType.provisioned,
      card_id: card.id,
      outcome: 'ignored-not-pending',
    });

    const view = await detail(card.id);

    expect(view.timeline.map((entry) => entry.kind)).toEqual(['requested', 'outbox', 'published', 'result']);
  });

  it('when the card does not exist, then it is 404 CARD_NOT_FOUND; when the id is not a UUID, then 400', async () => {
    const missing = await harness.request(`/v1/admin/cards/${randomUUID()}`, { token: harness.adminToken });
    const malformed = await harness.request('/v1/admin/cards/not-a-card', { token: harness.adminToken });

    expect(missing.status).toBe(404);
    expect(ProblemSchema.parse(await missing.json()).code).toBe('CARD_NOT_FOUND');
    expect(malformed.status).toBe(400);
    expect(ProblemSchema.parse(await malformed.json()).code).toBe('VALIDATION_FAILED');
  });
});
