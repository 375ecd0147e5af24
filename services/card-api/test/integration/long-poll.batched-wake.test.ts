import { CardSchema } from '@cards/contracts';
import { eventually } from '@cards/test-support';

import { buildCardRequest, startCardApi, type CardApiHarness } from '../support/card-api';

/** Ends a card as the card-events consumer would, and sends the coalesced hint for all of them at once. */
async function applyResults(
  harness: CardApiHarness,
  results: { id: string; active: boolean }[],
): Promise<void> {
  await harness.db.transaction(async (tx) => {
    for (const { id, active } of results) {
      await tx('cards')
        .where({ id })
        .update(
          active
            ? {
                status: 'ACTIVE',
                provider_card_id: `prov-${id}`,
                last4: '4242',
                exp_month: 12,
                exp_year: 2030,
                activated_at: new Date(),
              }
            : {
                status: 'FAILED',
                failure_code: 'PROVIDER_REJECTED',
                failure_message: 'no',
                failed_at: new Date(),
              },
        );
    }
    await tx.raw(/* sql */ "SELECT pg_notify('card_changed', ?)", [results.map(({ id }) => id).join(',')]);
  });
}

describe('cheap waiting: one notification wakes many long-polls with one batched read', () => {
  let harness: CardApiHarness;

  beforeAll(async () => {
    harness = await startCardApi('long-poll-batched-wake', {
      LONG_POLL_MAX_SECONDS: '30',
      LONG_POLL_MAX_CONCURRENT_PER_USER: '100',
      CARD_LIMIT_PER_USER: '100',
    });
  });

  afterAll(() => harness.stop());

  const postCard = (token: string, headers: Record<string, string> = {}) =>
    harness.request('/v1/cards', { method: 'POST', token, body: buildCardRequest(), headers });

  it('when many cards with several waiters each end at once, then every waiter is answered at once with its own card', async () => {
    const users = [await harness.createUser(), await harness.createUser()];
    const cards: { id: string; token: string; active: boolean }[] = [];
    for (let index = 0; index < 12; index++) {
      const user = users[index % 2] ?? users[0];
      const created = CardSchema.parse(await (await postCard(user?.token ?? '')).json());
      cards.push({ id: created.id, token: user?.token ?? '', active: index % 3 !== 0 });
    }
    const startedAt = Date.now();
    const polls = cards.flatMap((card) =>
      [0, 1, 2].map(() =>
        harness
          .request(`/v1/cards/${card.id}`, { token: card.token, headers: { prefer: 'wait=30' } })
          .then(async (response) => ({ card, response, body: CardSchema.parse(await response.json()) })),
      ),
    );
    // Wait until the polls are held, then end every card in one transaction with one notification.
    await new Promise((resolve) => setTimeout(resolve, 300));
    await applyResults(harness, cards);

    const answers = await Promise.all(polls);
    expect(Date.now() - startedAt).toBeLessThan(10_000);
    for (const { card, response, body } of answers) {
      expect(response.status).toBe(200);
      expect(response.headers.get('preference-applied')).toBe('wait=30');
      expect(body.id).toBe(card.id);
      expect(body.status).toBe(card.active ? 'ACTIVE' : 'FAILED');
      expect(body.last4).toBe(card.active ? '4242' : null);
    }
  });

  it('when POST /v1/cards asks Prefer: wait and the result is applied in time, then it answers 200 with the terminal card', async () => {
    const user = await harness.createUser();
    const answer = postCard(user.token, { prefer: 'wait=20' });
    let cardId = '';
    await eventually(async () => {
      const row = await harness
        .db('cards')
        .where({ user_id: user.id })
        .first<{ id: string } | undefined>('id');
      expect(row).toBeDefined();
      cardId = row?.id ?? '';
    });
    await applyResults(harness, [{ id: cardId, active: true }]);

    const response = await answer;

    expect(response.status).toBe(200);
    expect(response.headers.get('preference-applied')).toBe('wait=20');
    expect(response.headers.get('location')).toBe(`/v1/cards/${cardId}`);
    expect(response.headers.get('etag')).toBeTruthy();
    expect(CardSchema.parse(await response.json())).toMatchObject({
      id: cardId,
      status: 'ACTIVE',
      last4: '4242',
    });
  });

  it('when POST /v1/cards asks Prefer: wait and no result comes in time, then it answers the 202 PENDING card after the wait', async () => {
    const user = await harness.createUser();
    const startedAt = Date.now();

    const response = await postCard(user.token, { prefer: 'wait=1' });

    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(900);
    expect(response.status).toBe(202);
    expect(response.headers.get('preference-applied')).toBe('wait=1');
    const card = CardSchema.parse(await response.json());
    expect(card.status).toBe('PENDING');
    expect(response.headers.get('location')).toBe(`/v1/cards/${card.id}`);
  });

  it('when POST /v1/cards with an Idempotency-Key asks Prefer: wait, then the 202 is what is recorded and replayed', async () => {
    const user = await harness.createUser();
    const headers = { prefer: 'wait=1', 'idempotency-key': `key-${user.id}` };

    const first = await postCard(user.token, headers);
    const replay = await postCard(user.token, { 'idempotency-key': `key-${user.id}` });

    expect(first.status).toBe(202);
    expect(replay.status).toBe(202);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(await replay.json()).toEqual(await first.json());
  });
});
