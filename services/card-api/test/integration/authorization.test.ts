import { randomUUID } from 'node:crypto';

import { CardListSchema, CardSchema } from '@cards/contracts';

import { encodeCursor } from '../../src/entry-points/http/cursor';
import { buildCardRequest, startCardApi, type CardApiHarness } from '../support/card-api';

/**
 * One user never reads, lists or infers another's cards: every answer about someone else's card is the answer
 * about a card that does not exist, byte for byte but for the request id.
 */
describe('authorization between users', () => {
  let harness: CardApiHarness;
  let alice: { id: string; token: string };
  let bob: { id: string; token: string };
  let aliceCard: { id: string; createdAt: string };
  let aliceEtag: string;

  beforeAll(async () => {
    harness = await startCardApi('authorization', { LONG_POLL_MAX_SECONDS: '5' });
    alice = await harness.createUser();
    bob = await harness.createUser();
    const created = await harness.request('/v1/cards', {
      method: 'POST',
      token: alice.token,
      body: buildCardRequest(),
    });
    aliceCard = CardSchema.parse(await created.json());
    aliceEtag = created.headers.get('etag') ?? '';
    for (let count = 0; count < 3; count += 1) {
      await harness.request('/v1/cards', { method: 'POST', token: bob.token, body: buildCardRequest() });
    }
  });

  afterAll(() => harness.stop());

  /** Status, content type and body of an answer, without what differs per request. */
  async function observable(response: Response): Promise<unknown> {
    const body = (await response.json()) as Record<string, unknown>;
    const { requestId: _requestId, ...rest } = body;
    return { status: response.status, type: response.headers.get('content-type'), body: rest };
  }

  it('when Bob reads, long-polls or conditionally reads Alice’s card, then each answer equals the one for a card that does not exist', async () => {
    const variants: { name: string; headers: Record<string, string> }[] = [
      { name: 'read', headers: {} },
      { name: 'long-poll', headers: { prefer: 'wait=5' } },
      { name: 'conditional read', headers: { 'if-none-match': aliceEtag } },
    ];
    for (const variant of variants) {
      const startedAt = Date.now();
      const theirs = await harness.request(`/v1/cards/${aliceCard.id}`, {
        token: bob.token,
        headers: variant.headers,
      });
      // A long-poll on someone else's card must not wait (waiting would say the card exists and is PENDING).
      expect(Date.now() - startedAt).toBeLessThan(4000);
      const missing = await harness.request(`/v1/cards/${randomUUID()}`, {
        token: bob.token,
        headers: variant.headers,
      });
      expect({ variant: variant.name, answer: await observable(theirs) }).toEqual({
        variant: variant.name,
        answer: await observable(missing),
      });
      expect(theirs.status).toBe(404);
    }
  });

  it('when Bob crafts a cursor positioned at Alice’s card, then he pages through his own cards only', async () => {
    const crafted = encodeCursor({
      createdAt: new Date(Date.parse(aliceCard.createdAt) + 60_000),
      id: aliceCard.id,
    });
    const response = await harness.request(`/v1/cards?cursor=${crafted}&limit=100`, { token: bob.token });
    expect(response.status).toBe(200);
    const page = CardListSchema.parse(await response.json());
    expect(page.data.length).toBeGreaterThan(0);
    expect(page.data.map((card) => card.id)).not.toContain(aliceCard.id);
    const [bobsOwn] = await harness
      .db('cards')
      .where({ user_id: bob.id })
      .count<{ count: string }[]>('* as count');
    expect(page.data.length).toBeLessThanOrEqual(Number(bobsOwn?.count));
  });

  it('when Bob filters or pages the list in any way, then Alice’s card never appears', async () => {
    const seen: { query: string; status: number; leaked: boolean }[] = [];
    for (const query of ['', '?status=PENDING', '?limit=1', `?userId=${alice.id}`, `?user_id=${alice.id}`]) {
      const response = await harness.request(`/v1/cards${query}`, { token: bob.token });
      seen.push({ query, status: response.status, leaked: (await response.text()).includes(aliceCard.id) });
    }
    // Unknown filters are refused (422) rather than ignored; nothing ever shows Alice's card.
    expect(seen).toEqual([
      { query: '', status: 200, leaked: false },
      { query: '?status=PENDING', status: 200, leaked: false },
      { query: '?limit=1', status: 200, leaked: false },
      { query: `?userId=${alice.id}`, status: 422, leaked: false },
      { query: `?user_id=${alice.id}`, status: 422, leaked: false },
    ]);
  });

  it('when Bob reuses Alice’s Idempotency-Key, then he gets a card of his own, never a replay of hers', async () => {
    const key = `shared-${randomUUID()}`;
    const first = await harness.request('/v1/cards', {
      method: 'POST',
      token: alice.token,
      headers: { 'idempotency-key': key },
      body: buildCardRequest(),
    });
    const second = await harness.request('/v1/cards', {
      method: 'POST',
      token: bob.token,
      headers: { 'idempotency-key': key },
      body: buildCardRequest(),
    });
    expect(second.status).toBe(202);
    expect(second.headers.get('idempotent-replayed')).toBeNull();
    expect(CardSchema.parse(await second.json()).id).not.toBe(CardSchema.parse(await first.json()).id);
  });

  it('when a user who is not an admin calls any admin route, then it is 403 and reveals nothing', async () => {
    for (const [method, path] of [
      ['GET', '/v1/admin/cards'],
      ['GET', `/v1/admin/cards?userId=${alice.id}`],
      ['POST', '/v1/admin/users'],
    ] as const) {
      const response = await harness.request(path, {
        method,
        token: bob.token,
        ...(method === 'POST' && { body: JSON.stringify({ externalId: 'x', email: 'x@example.test' }) }),
      });
      expect(response.status).toBe(403);
      expect(JSON.stringify(await response.json())).not.toContain(aliceCard.id);
    }
  });
});
