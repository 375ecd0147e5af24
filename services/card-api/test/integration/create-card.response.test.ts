import { CardSchema } from '@cards/contracts';

import { buildCardRequest, startCardApi, type CardApiHarness } from '../support/card-api';

describe('POST /v1/cards', () => {
  let harness: CardApiHarness;
  let user: { id: string; token: string };

  beforeAll(async () => {
    harness = await startCardApi('create-card-response');
    user = await harness.createUser();
  });

  afterAll(() => harness.stop());

  it('when a user asks for a card, then it is 202 with Location, Retry-After, an ETag and the PENDING card', async () => {
    const response = await harness.request('/v1/cards', {
      method: 'POST',
      token: user.token,
      body: buildCardRequest(),
    });

    expect(response.status).toBe(202);
    const card = CardSchema.parse(await response.json());
    expect(card).toMatchObject({
      color: 'gold',
      status: 'PENDING',
      last4: null,
      failureCode: null,
      activatedAt: null,
    });
    expect(response.headers.get('location')).toBe(`/v1/cards/${card.id}`);
    expect(response.headers.get('retry-after')).toBe('1');
    expect(response.headers.get('etag')).toMatch(/^".+"$/);
    expect(new Date(card.createdAt).toISOString()).toBe(card.createdAt);
  });

  it('when the card is stored, then its card.provision.requested event is in the outbox with it', async () => {
    const response = await harness.request('/v1/cards', {
      method: 'POST',
      token: user.token,
      body: buildCardRequest({ color: 'pink' }),
      headers: { 'x-request-id': 'req-outbox-1' },
    });
    const card = CardSchema.parse(await response.json());

    const rows = await harness.db('outbox').where({ key: card.id }).select('type', 'topic', 'event');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      type: 'card.provision.requested',
      topic: harness.topicEnv['TOPIC_PROVISIONING_COMMANDS'],
      event: {
        subject: card.id,
        correlationId: 'req-outbox-1',
        data: { cardId: card.id, color: 'pink', cardholderRef: user.id },
      },
    });
    const stored = await harness
      .db('cards')
      .where({ id: card.id })
      .first<{ status: string; user_id: string }>();
    expect(stored).toMatchObject({ status: 'PENDING', user_id: user.id });
  });
});
