import { randomUUID } from 'node:crypto';

import { ProblemSchema } from '@cards/contracts';

import { buildCardRequest, startCardApi, type CardApiHarness } from '../support/card-api';

/** The per-user rate limit is counted in the card's own database call (create_card_if_allowed). */
describe('the per-user rate limit, counted in the call that stores the card', () => {
  let harness: CardApiHarness;

  beforeAll(async () => {
    harness = await startCardApi('create-card-rate-limit', {
      RATE_LIMIT_CARD_CREATE_PER_USER: '3',
      RATE_LIMIT_WINDOW_SECONDS: '300',
      CARD_LIMIT_PER_USER: '100',
    });
  });

  afterAll(() => harness.stop());

  const post = (token: string, headers: Record<string, string> = {}) =>
    harness.request('/v1/cards', { method: 'POST', token, body: buildCardRequest(), headers });

  async function countRows(userId: string): Promise<{ cards: number; outbox: number }> {
    const [cards] = await harness
      .db('cards')
      .where({ user_id: userId })
      .count<{ count: string }[]>('* as count');
    const [outbox] = await harness
      .db('outbox')
      .whereIn('key', harness.db('cards').select(harness.db.raw('id::text')).where({ user_id: userId }))
      .count<{ count: string }[]>('* as count');
    return { cards: Number(cards?.count), outbox: Number(outbox?.count) };
  }

  it('when 12 requests of one user arrive at once, then exactly 3 are accepted and the rest are 429 with Retry-After', async () => {
    const user = await harness.createUser();

    const responses = await Promise.all(Array.from({ length: 12 }, () => post(user.token)));

    const accepted = responses.filter((response) => response.status === 202);
    const refused = responses.filter((response) => response.status === 429);
    expect(accepted).toHaveLength(3);
    expect(refused).toHaveLength(9);
    for (const response of refused) {
      expect(Number(response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(Number(response.headers.get('retry-after'))).toBeLessThanOrEqual(300);
      expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(ProblemSchema.parse(await response.json()).code).toBe('RATE_LIMITED');
    }
    expect(await countRows(user.id)).toEqual({ cards: 3, outbox: 3 });
  });

  it('when the event is stored, then its requestedAt is the card’s creation time as the database stores it', async () => {
    const user = await harness.createUser();
    const response = await post(user.token);
    const card = (await response.json()) as { id: string; createdAt: string };

    const row = await harness
      .db('outbox')
      .where({ key: card.id })
      .first<{ event: { data: { requestedAt: string; cardId: string } } } | undefined>('event');
    const stored = await harness
      .db('cards')
      .where({ id: card.id })
      .first<{ created_at: Date } | undefined>('created_at');
    expect(row?.event.data).toMatchObject({ cardId: card.id, requestedAt: card.createdAt });
    expect(stored?.created_at.toISOString()).toBe(card.createdAt);
  });

  it('when a request with an Idempotency-Key is rate-limited, then the 429 is not recorded and the key is free again', async () => {
    const user = await harness.createUser();
    for (let i = 0; i < 3; i++) {
      expect((await post(user.token)).status).toBe(202);
    }
    const key = `key-${randomUUID()}`;

    const refused = await post(user.token, { 'idempotency-key': key });

    expect(refused.status).toBe(429);
    expect(await harness.db('idempotency_keys').where({ user_id: user.id, key }).first()).toBeUndefined();
    expect(await countRows(user.id)).toEqual({ cards: 3, outbox: 3 });
  });
});
