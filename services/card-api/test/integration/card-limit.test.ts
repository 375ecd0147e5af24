import { ProblemSchema } from '@cards/contracts';

import { buildCardRequest, startCardApi, type CardApiHarness } from '../support/card-api';

describe('the card limit', () => {
  let harness: CardApiHarness;

  beforeAll(async () => {
    harness = await startCardApi('card-limit');
  });

  afterAll(() => harness.stop());

  const post = (token: string) =>
    harness.request('/v1/cards', { method: 'POST', token, body: buildCardRequest() });

  it('when a user holds 5 cards, then the 6th is 409 CARD_LIMIT_REACHED', async () => {
    const { token } = await harness.createUser();
    for (let i = 0; i < 5; i++) {
      expect((await post(token)).status).toBe(202);
    }
    const sixth = await post(token);
    expect(sixth.status).toBe(409);
    expect(ProblemSchema.parse(await sixth.json())).toMatchObject({ code: 'CARD_LIMIT_REACHED', limit: 5 });
  });

  it('when 20 requests of one user arrive at once, then exactly 5 cards exist', async () => {
    const { id, token } = await harness.createUser();
    const statuses = (await Promise.all(Array.from({ length: 20 }, () => post(token)))).map((r) => r.status);
    expect(statuses.filter((status) => status === 202)).toHaveLength(5);
    expect(statuses.filter((status) => status === 409)).toHaveLength(15);
    const [row] = await harness.db('cards').where({ user_id: id }).count<{ count: string }[]>({ count: '*' });
    expect(Number(row?.count)).toBe(5);
    const [outbox] = await harness
      .db('outbox')
      .whereIn('key', harness.db('cards').select(harness.db.raw('id::text')).where({ user_id: id }))
      .count<{ count: string }[]>({ count: '*' });
    expect(Number(outbox?.count)).toBe(5);
  });

  it('when some of a user’s cards FAILED, then they do not count towards the limit', async () => {
    const { id, token } = await harness.createUser();
    for (let i = 0; i < 5; i++) {
      expect((await post(token)).status).toBe(202);
    }
    const [first] = await harness.db('cards').where({ user_id: id }).select<{ id: string }[]>('id').limit(1);
    await harness
      .db('cards')
      .where({ id: first?.id })
      .update({ status: 'FAILED', failure_code: 'PROVIDER_REJECTED', failed_at: new Date() });

    expect((await post(token)).status).toBe(202);
    expect((await post(token)).status).toBe(409);
  });
});
