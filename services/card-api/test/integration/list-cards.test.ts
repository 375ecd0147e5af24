import { CardListSchema, ProblemSchema } from '@cards/contracts';

import { buildCardRequest, startCardApi, type CardApiHarness } from '../support/card-api';

describe('GET /v1/cards and GET /v1/admin/cards', () => {
  let harness: CardApiHarness;
  let alice: { id: string; token: string };
  let bob: { id: string; token: string };
  const aliceCards: string[] = [];

  beforeAll(async () => {
    harness = await startCardApi('list-cards');
    alice = await harness.createUser();
    bob = await harness.createUser();
    for (const color of ['black', 'white', 'silver', 'blue', 'pink']) {
      const response = await harness.request('/v1/cards', {
        method: 'POST',
        token: alice.token,
        body: buildCardRequest({ color }),
      });
      aliceCards.push(((await response.json()) as { id: string }).id);
    }
    await harness.request('/v1/cards', { method: 'POST', token: bob.token, body: buildCardRequest() });
    await harness
      .db('cards')
      .where({ id: aliceCards[0] })
      .update({ status: 'FAILED', failure_code: 'PROVIDER_REJECTED', failed_at: new Date() });
  });

  afterAll(() => harness.stop());

  async function list(path: string, token: string) {
    const response = await harness.request(path, { token });
    expect(response.status).toBe(200);
    return CardListSchema.parse(await response.json());
  }

  it('when a user lists, then it is only their cards, newest first', async () => {
    const page = await list('/v1/cards', alice.token);
    expect(page.data.map((card) => card.id)).toEqual([...aliceCards].reverse());
    expect(page.nextCursor).toBeNull();
  });

  it('when paging with limit=2, then the cursors walk every card once, in order', async () => {
    const seen: string[] = [];
    let path = '/v1/cards?limit=2';
    for (;;) {
      const page = await list(path, alice.token);
      seen.push(...page.data.map((card) => card.id));
      if (!page.nextCursor) {
        break;
      }
      path = `/v1/cards?limit=2&cursor=${encodeURIComponent(page.nextCursor)}`;
    }
    expect(seen).toEqual([...aliceCards].reverse());
  });

  it('when filtering by status, then only those cards come back', async () => {
    const page = await list('/v1/cards?status=FAILED', alice.token);
    expect(page.data.map((card) => card.id)).toEqual([aliceCards[0]]);
  });

  it('when a cursor from another user is used, then it still shows only the caller’s cards', async () => {
    const alicePage = await list('/v1/cards?limit=1', alice.token);
    const bobPage = await list(
      `/v1/cards?cursor=${encodeURIComponent(alicePage.nextCursor ?? '')}`,
      bob.token,
    );
    expect(bobPage.data.every((card) => !aliceCards.includes(card.id))).toBe(true);
  });

  it('when the cursor is forged or the limit too large, then it is 422', async () => {
    const forged = await harness.request('/v1/cards?cursor=not-a-cursor', { token: alice.token });
    expect(forged.status).toBe(422);
    expect(ProblemSchema.parse(await forged.json()).code).toBe('VALIDATION_FAILED');
    const tooMany = await harness.request('/v1/cards?limit=101', { token: alice.token });
    expect(tooMany.status).toBe(422);
    const unknown = await harness.request('/v1/cards?owner=bob', { token: alice.token });
    expect(unknown.status).toBe(422);
  });

  it('when the admin lists with filters, then every user’s cards are there with their owner', async () => {
    const response = await harness.request(`/v1/admin/cards?userId=${alice.id}&color=pink`, {
      token: harness.adminToken,
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { data: { id: string; userId: string }[] };
    expect(body.data).toEqual([expect.objectContaining({ id: aliceCards[4], userId: alice.id })]);
    const all = (await (await harness.request('/v1/admin/cards', { token: harness.adminToken })).json()) as {
      data: unknown[];
    };
    expect(all.data).toHaveLength(6);
  });
});
