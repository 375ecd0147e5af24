import { AdminCardListSchema, AdminCardsSummarySchema, ProblemSchema } from '@cards/contracts';

import { buildCardRequest, startCardApi, type CardApiHarness } from '../support/card-api';

describe('GET /v1/admin/cards (order) and GET /v1/admin/cards/summary', () => {
  let harness: CardApiHarness;
  let alice: { id: string; token: string };
  let bob: { id: string; token: string };
  /** Every card, oldest first. */
  const cards: string[] = [];

  async function requestCard(token: string, color: string): Promise<string> {
    const response = await harness.request('/v1/cards', {
      method: 'POST',
      token,
      body: buildCardRequest({ color }),
    });
    return ((await response.json()) as { id: string }).id;
  }

  beforeAll(async () => {
    harness = await startCardApi('admin-cards', { ADMIN_STUCK_PENDING_SECONDS: '60' });
    alice = await harness.createUser();
    bob = await harness.createUser();
    for (const color of ['black', 'white', 'silver', 'gold']) {
      cards.push(await requestCard(alice.token, color));
    }
    cards.push(await requestCard(bob.token, 'pink'));
    // cards[0] ACTIVE, cards[1] FAILED, cards[2] PENDING and stuck (requested two minutes ago), the rest PENDING.
    await harness.db('cards').where({ id: cards[0] }).update({
      status: 'ACTIVE',
      provider_card_id: 'pc_1',
      last4: '4242',
      exp_month: 1,
      exp_year: 2030,
      activated_at: new Date(),
    });
    await harness
      .db('cards')
      .where({ id: cards[1] })
      .update({ status: 'FAILED', failure_code: 'PROVIDER_REJECTED', failed_at: new Date() });
    await harness
      .db('cards')
      .where({ id: cards[2] })
      .update({ created_at: harness.db.raw("now() - interval '2 minutes'") });
    // The order the API sorts by, whatever the clock did: oldest first.
    const ordered = await harness
      .db('cards')
      .orderBy([{ column: 'created_at' }, { column: 'id' }])
      .pluck<string[]>('id');
    cards.splice(0, cards.length, ...ordered);
  });

  afterAll(() => harness.stop());

  async function walk(order: 'asc' | 'desc' | undefined): Promise<string[]> {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query = new URLSearchParams({ limit: '2', ...(order && { order }), ...(cursor && { cursor }) });
      const response = await harness.request(`/v1/admin/cards?${query.toString()}`, {
        token: harness.adminToken,
      });
      expect(response.status).toBe(200);
      const page = AdminCardListSchema.parse(await response.json());
      seen.push(...page.data.map((card) => card.id));
      cursor = page.nextCursor;
    } while (cursor);
    return seen;
  }

  it('when paging without an order, then the cursors walk every card once, newest first', async () => {
    expect(await walk(undefined)).toEqual([...cards].reverse());
  });

  it('when paging with order=asc, then the cursors walk every card once, oldest first', async () => {
    expect(await walk('asc')).toEqual(cards);
  });

  it('when paging with order=desc, then it is the default order', async () => {
    expect(await walk('desc')).toEqual([...cards].reverse());
  });

  it('when the order is not asc or desc, then it is 422', async () => {
    const response = await harness.request('/v1/admin/cards?order=sideways', { token: harness.adminToken });
    expect(response.status).toBe(422);
    expect(ProblemSchema.parse(await response.json()).code).toBe('VALIDATION_FAILED');
  });

  it('when the summary is asked for, then it counts every status and the PENDING cards older than the threshold', async () => {
    const response = await harness.request('/v1/admin/cards/summary', { token: harness.adminToken });

    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('private, no-cache');
    const summary = AdminCardsSummarySchema.parse(await response.json());
    expect(summary).toMatchObject({
      counts: { PENDING: 3, ACTIVE: 1, FAILED: 1 },
      total: 5,
      stuckPending: 1,
      stuckPendingAfterSeconds: 60,
    });
    expect(Math.abs(Date.parse(summary.now) - Date.now())).toBeLessThan(60_000);
  });

  it('when the summary is filtered, then it counts only the matching cards', async () => {
    const byUser = AdminCardsSummarySchema.parse(
      await (
        await harness.request(`/v1/admin/cards/summary?userId=${bob.id}`, { token: harness.adminToken })
      ).json(),
    );
    expect(byUser).toMatchObject({ counts: { PENDING: 1, ACTIVE: 0, FAILED: 0 }, total: 1, stuckPending: 0 });

    const byStatus = AdminCardsSummarySchema.parse(
      await (
        await harness.request(`/v1/admin/cards/summary?status=PENDING&userId=${alice.id}`, {
          token: harness.adminToken,
        })
      ).json(),
    );
    expect(byStatus).toMatchObject({
      counts: { PENDING: 2, ACTIVE: 0, FAILED: 0 },
      total: 2,
      stuckPending: 1,
    });

    const future = new Date(Date.now() + 3_600_000).toISOString();
    const empty = AdminCardsSummarySchema.parse(
      await (
        await harness.request(`/v1/admin/cards/summary?createdFrom=${encodeURIComponent(future)}`, {
          token: harness.adminToken,
        })
      ).json(),
    );
    expect(empty).toMatchObject({ counts: { PENDING: 0, ACTIVE: 0, FAILED: 0 }, total: 0, stuckPending: 0 });
  });

  it('when the summary query has a cursor or an unknown filter, then it is 422', async () => {
    const response = await harness.request('/v1/admin/cards/summary?cursor=abc', {
      token: harness.adminToken,
    });
    expect(response.status).toBe(422);
  });
});
