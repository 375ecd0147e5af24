import { randomUUID } from 'node:crypto';

import { CardSchema, ProblemSchema } from '@cards/contracts';
import { eventually } from '@cards/test-support';

import { purgeExpiredIdempotencyKeys } from '../../src/data-access/idempotency.repository';
import { requestHash, STALE_CLAIM_SECONDS } from '../../src/entry-points/http/idempotency';
import { buildCardRequest, startCardApi, type CardApiHarness } from '../support/card-api';

/** A fresh key per test, so tests never see each other's rows. */
const newKey = (): string => `key-${randomUUID()}`;

describe('POST /v1/cards with an Idempotency-Key', () => {
  let harness: CardApiHarness;

  beforeAll(async () => {
    // The purge job is left for its own test below: here an expired row must still be there when a request meets it.
    harness = await startCardApi('create-card-idempotency', { SAGA_REAPER_INTERVAL_MS: '3600000' });
  });

  afterAll(() => harness.stop());

  const post = (token: string, key: string | undefined, body = buildCardRequest()): Promise<Response> =>
    harness.request('/v1/cards', {
      method: 'POST',
      token,
      body,
      headers: key === undefined ? {} : { 'idempotency-key': key },
    });

  async function countCards(userId: string): Promise<number> {
    const [row] = await harness
      .db('cards')
      .where({ user_id: userId })
      .count<{ count: string }[]>({ count: '*' });
    return Number(row?.count);
  }

  async function countOutbox(userId: string): Promise<number> {
    const [row] = await harness
      .db('outbox')
      .whereIn('key', harness.db('cards').select(harness.db.raw('id::text')).where({ user_id: userId }))
      .count<{ count: string }[]>({ count: '*' });
    return Number(row?.count);
  }

  const keyRow = (userId: string, key: string) =>
    harness
      .db('idempotency_keys')
      .where({ user_id: userId, key })
      .first<{ status: string; response_status: number | null } | undefined>('status', 'response_status');

  const backdate = (userId: string, key: string, seconds: number) =>
    harness
      .db('idempotency_keys')
      .where({ user_id: userId, key })
      .update({ created_at: harness.db.raw('now() - make_interval(secs => ?)', [seconds]) });

  const ttlSeconds = (): number => harness.config.IDEMPOTENCY_KEY_TTL_HOURS * 3600;

  it('when the same key and body are sent again, then the first answer is replayed and one card exists', async () => {
    const user = await harness.createUser();
    const key = newKey();

    const first = await post(user.token, key);
    const firstBody: unknown = await first.json();
    const second = await post(user.token, key);
    const secondBody: unknown = await second.json();

    expect(first.status).toBe(202);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    expect(second.status).toBe(202);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(secondBody).toEqual(firstBody);
    for (const header of ['location', 'retry-after', 'etag', 'content-type']) {
      expect(second.headers.get(header)).toBe(first.headers.get(header));
    }
    const card = CardSchema.parse(firstBody);
    expect(first.headers.get('location')).toBe(`/v1/cards/${card.id}`);
    expect(await countCards(user.id)).toBe(1);
    expect(await countOutbox(user.id)).toBe(1);
    expect(await keyRow(user.id, key)).toEqual({ status: 'COMPLETED', response_status: 202 });
  });

  it('when the same body comes with other whitespace and member order, then it is the same request (replay)', async () => {
    const user = await harness.createUser();
    const key = newKey();

    const first = await post(user.token, key, '{"color":"blue"}');
    const second = await post(user.token, key, '{\n  "color" : "blue"\n}');

    expect(second.status).toBe(202);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(await second.json()).toEqual(await first.json());
    expect(await countCards(user.id)).toBe(1);
  });

  it('when the same key comes with a different body, then it is 422 IDEMPOTENCY_KEY_REUSED and nothing is created', async () => {
    const user = await harness.createUser();
    const key = newKey();
    expect((await post(user.token, key, buildCardRequest({ color: 'gold' }))).status).toBe(202);

    const reused = await post(user.token, key, buildCardRequest({ color: 'pink' }));

    expect(reused.status).toBe(422);
    expect(reused.headers.get('idempotent-replayed')).toBeNull();
    expect(ProblemSchema.parse(await reused.json())).toMatchObject({
      code: 'IDEMPOTENCY_KEY_REUSED',
      status: 422,
    });
    expect(await countCards(user.id)).toBe(1);
    expect(await countOutbox(user.id)).toBe(1);
  });

  it('when 10 identical requests with one key arrive at once, then exactly one card exists and the rest replay it or are 409 IN_PROGRESS', async () => {
    const user = await harness.createUser();
    const key = newKey();

    const responses = await Promise.all(Array.from({ length: 10 }, () => post(user.token, key)));
    const answers = await Promise.all(
      responses.map(async (response) => ({
        status: response.status,
        replayed: response.headers.get('idempotent-replayed'),
        retryAfter: response.headers.get('retry-after'),
        body: (await response.json()) as Record<string, unknown>,
      })),
    );

    const created = answers.filter((answer) => answer.status === 202 && answer.replayed === null);
    expect(created).toHaveLength(1);
    const cardId = CardSchema.parse(created[0]?.body).id;
    const replays = answers.filter((answer) => answer.status === 202 && answer.replayed === 'true');
    expect(replays.map((answer) => answer.body['id'])).toEqual(replays.map(() => cardId));
    const refused = answers.filter((answer) => answer.status !== 202);
    expect(refused.map((answer) => [answer.status, answer.retryAfter, answer.body['code']])).toEqual(
      refused.map(() => [409, '1', 'IDEMPOTENCY_REQUEST_IN_PROGRESS']),
    );
    expect(created.length + replays.length + refused.length).toBe(10);
    expect(await countCards(user.id)).toBe(1);
    expect(await countOutbox(user.id)).toBe(1);
  });

  it('when a request ends in a 500, then nothing is recorded and a retry with the same key creates the card', async () => {
    const user = await harness.createUser();
    const key = newKey();
    await harness.db.raw(/* sql */ `
      CREATE FUNCTION refuse_outbox_idem() RETURNS trigger LANGUAGE plpgsql AS
        $$ BEGIN RAISE EXCEPTION 'outbox unavailable (test)'; END $$;
      CREATE TRIGGER refuse_outbox_idem BEFORE INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION refuse_outbox_idem();
    `);
    try {
      const failed = await post(user.token, key);
      expect(failed.status).toBe(500);
      expect(ProblemSchema.parse(await failed.json())).toMatchObject({ code: 'INTERNAL' });
    } finally {
      await harness.db.raw(
        /* sql */ 'DROP TRIGGER refuse_outbox_idem ON outbox; DROP FUNCTION refuse_outbox_idem()',
      );
    }
    expect(await keyRow(user.id, key)).toBeUndefined();
    expect(await countCards(user.id)).toBe(0);

    const retried = await post(user.token, key);

    expect(retried.status).toBe(202);
    expect(retried.headers.get('idempotent-replayed')).toBeNull();
    expect(CardSchema.parse(await retried.json()).status).toBe('PENDING');
    expect(await countCards(user.id)).toBe(1);
    expect(await countOutbox(user.id)).toBe(1);
  });

  it('when two users send the same key, then each gets a card of their own', async () => {
    const alice = await harness.createUser();
    const bob = await harness.createUser();
    const key = newKey();

    const forAlice = await post(alice.token, key);
    const forBob = await post(bob.token, key);

    expect(forAlice.status).toBe(202);
    expect(forBob.status).toBe(202);
    expect(forBob.headers.get('idempotent-replayed')).toBeNull();
    expect(CardSchema.parse(await forBob.json()).id).not.toBe(CardSchema.parse(await forAlice.json()).id);
    expect(await countCards(alice.id)).toBe(1);
    expect(await countCards(bob.id)).toBe(1);
  });

  it('when the first answer was 409 CARD_LIMIT_REACHED, then it is replayed even after the limit no longer applies', async () => {
    const user = await harness.createUser();
    for (let i = 0; i < harness.config.CARD_LIMIT_PER_USER; i++) {
      expect((await post(user.token, undefined)).status).toBe(202);
    }
    const key = newKey();
    const refused = await post(user.token, key);
    const refusedBody: unknown = await refused.json();
    expect(refused.status).toBe(409);
    expect(refusedBody).toMatchObject({ code: 'CARD_LIMIT_REACHED' });
    await harness
      .db('cards')
      .where({ user_id: user.id })
      .update({ status: 'FAILED', failure_code: 'PROVIDER_REJECTED', failed_at: new Date() });

    const replayed = await post(user.token, key);

    expect(replayed.status).toBe(409);
    expect(replayed.headers.get('idempotent-replayed')).toBe('true');
    expect(replayed.headers.get('content-type')).toBe(refused.headers.get('content-type'));
    expect(await replayed.json()).toEqual(refusedBody);
    expect(await countCards(user.id)).toBe(harness.config.CARD_LIMIT_PER_USER);
    // A new key is a new request: now there is room.
    expect((await post(user.token, newKey())).status).toBe(202);
  });

  it('when the first answer was 422 VALIDATION_FAILED, then it is replayed', async () => {
    const user = await harness.createUser();
    const key = newKey();
    const body = buildCardRequest({ color: 'rainbow' });

    const first = await post(user.token, key, body);
    const firstBody: unknown = await first.json();
    const second = await post(user.token, key, body);

    expect(first.status).toBe(422);
    expect(firstBody).toMatchObject({ code: 'VALIDATION_FAILED' });
    expect(second.status).toBe(422);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(await second.json()).toEqual(firstBody);
    expect(await keyRow(user.id, key)).toEqual({ status: 'COMPLETED', response_status: 422 });
  });

  it.each([
    ['empty', ''],
    ['longer than 255', 'k'.repeat(256)],
    ['not ASCII', 'clé'],
  ])(
    'when the key is %s, then it is 400 IDEMPOTENCY_KEY_INVALID and nothing is created',
    async (_label, key) => {
      const user = await harness.createUser();

      const response = await post(user.token, key);

      expect(response.status).toBe(400);
      expect(ProblemSchema.parse(await response.json())).toMatchObject({ code: 'IDEMPOTENCY_KEY_INVALID' });
      expect(await countCards(user.id)).toBe(0);
      expect(await harness.db('idempotency_keys').where({ user_id: user.id }).first()).toBeUndefined();
    },
  );

  it('when no key is sent, then every request creates a card and nothing is remembered', async () => {
    const user = await harness.createUser();

    const first = await post(user.token, undefined);
    const second = await post(user.token, undefined);

    expect(first.status).toBe(202);
    expect(second.status).toBe(202);
    expect(second.headers.get('idempotent-replayed')).toBeNull();
    expect(await countCards(user.id)).toBe(2);
    expect(await harness.db('idempotency_keys').where({ user_id: user.id }).first()).toBeUndefined();
  });

  it('when the key is older than the TTL, then it is a new key: a new card, even for another body', async () => {
    const user = await harness.createUser();
    const key = newKey();
    const first = CardSchema.parse(await (await post(user.token, key)).json());
    await backdate(user.id, key, ttlSeconds() + 60);

    const again = await post(user.token, key, buildCardRequest({ color: 'silver' }));

    expect(again.status).toBe(202);
    expect(again.headers.get('idempotent-replayed')).toBeNull();
    const second = CardSchema.parse(await again.json());
    expect(second.id).not.toBe(first.id);
    expect(second.color).toBe('silver');
    expect(await countCards(user.id)).toBe(2);
    // The renewed key replays its new answer.
    const replay = await post(user.token, key, buildCardRequest({ color: 'silver' }));
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(CardSchema.parse(await replay.json()).id).toBe(second.id);
  });

  it('when a key is IN_PROGRESS and fresh, then it is 409 IDEMPOTENCY_REQUEST_IN_PROGRESS with Retry-After', async () => {
    const user = await harness.createUser();
    const key = newKey();
    await harness.db('idempotency_keys').insert({
      user_id: user.id,
      key,
      request_hash: requestHash({ method: 'POST', path: '/v1/cards', body: { color: 'gold' } }),
      status: 'IN_PROGRESS',
      response_headers: JSON.stringify({ Location: `/v1/cards/${randomUUID()}` }),
    });

    const response = await post(user.token, key);

    expect(response.status).toBe(409);
    expect(response.headers.get('retry-after')).toBe('1');
    expect(ProblemSchema.parse(await response.json())).toMatchObject({
      code: 'IDEMPOTENCY_REQUEST_IN_PROGRESS',
    });
    expect(await countCards(user.id)).toBe(0);
  });

  it('when a stale IN_PROGRESS key’s process died before its card committed, then a retry creates the card under the reserved id', async () => {
    const user = await harness.createUser();
    const key = newKey();
    const reservedId = randomUUID();
    await harness.db('idempotency_keys').insert({
      user_id: user.id,
      key,
      request_hash: requestHash({ method: 'POST', path: '/v1/cards', body: { color: 'gold' } }),
      status: 'IN_PROGRESS',
      response_headers: JSON.stringify({ Location: `/v1/cards/${reservedId}` }),
    });
    await backdate(user.id, key, STALE_CLAIM_SECONDS + 5);

    const response = await post(user.token, key);

    expect(response.status).toBe(202);
    expect(CardSchema.parse(await response.json()).id).toBe(reservedId);
    expect(await countCards(user.id)).toBe(1);
    expect(await countOutbox(user.id)).toBe(1);
    expect(await keyRow(user.id, key)).toEqual({ status: 'COMPLETED', response_status: 202 });
  });

  it('when a stale IN_PROGRESS key’s process died after its card committed, then a retry answers that card and creates none', async () => {
    const user = await harness.createUser();
    const key = newKey();
    const created = CardSchema.parse(await (await post(user.token, key)).json());
    // The state a crash between the card's commit and the recording of the answer leaves behind.
    await harness
      .db('idempotency_keys')
      .where({ user_id: user.id, key })
      .update({
        status: 'IN_PROGRESS',
        response_status: null,
        response_body: null,
        response_headers: JSON.stringify({ Location: `/v1/cards/${created.id}` }),
        completed_at: null,
      });

    const fresh = await post(user.token, key);
    expect(fresh.status).toBe(409);
    await backdate(user.id, key, STALE_CLAIM_SECONDS + 5);
    const recovered = await post(user.token, key);

    expect(recovered.status).toBe(202);
    expect(recovered.headers.get('idempotent-replayed')).toBe('true');
    expect(recovered.headers.get('location')).toBe(`/v1/cards/${created.id}`);
    expect(CardSchema.parse(await recovered.json()).id).toBe(created.id);
    expect(await countCards(user.id)).toBe(1);
    expect(await countOutbox(user.id)).toBe(1);
    expect(await keyRow(user.id, key)).toEqual({ status: 'COMPLETED', response_status: 202 });
  });

  it('when the purge runs, then it deletes exactly the keys older than the TTL', async () => {
    const user = await harness.createUser();
    const [oldKey, youngKey] = [newKey(), newKey()];
    expect((await post(user.token, oldKey)).status).toBe(202);
    expect((await post(user.token, youngKey, buildCardRequest({ color: 'white' }))).status).toBe(202);
    await backdate(user.id, oldKey, ttlSeconds() + 1);

    const purged = await purgeExpiredIdempotencyKeys(harness.db, harness.config.IDEMPOTENCY_KEY_TTL_HOURS);

    expect(purged).toBeGreaterThanOrEqual(1);
    expect(await keyRow(user.id, oldKey)).toBeUndefined();
    expect(await keyRow(user.id, youngKey)).toEqual({ status: 'COMPLETED', response_status: 202 });
  });
});

describe('the Idempotency-Key purge job of card-api', () => {
  let harness: CardApiHarness;

  beforeAll(async () => {
    harness = await startCardApi('idempotency-purge-job', { SAGA_REAPER_INTERVAL_MS: '100' });
  });

  afterAll(() => harness.stop());

  it('when a key passes its TTL, then the running API purges it on its own', async () => {
    const user = await harness.createUser();
    const key = newKey();
    const response = await harness.request('/v1/cards', {
      method: 'POST',
      token: user.token,
      body: buildCardRequest(),
      headers: { 'idempotency-key': key },
    });
    expect(response.status).toBe(202);
    await harness
      .db('idempotency_keys')
      .where({ user_id: user.id, key })
      .update({
        created_at: harness.db.raw('now() - make_interval(hours => ?)', [
          harness.config.IDEMPOTENCY_KEY_TTL_HOURS + 1,
        ]),
      });

    await eventually(
      async () => {
        expect(await harness.db('idempotency_keys').where({ user_id: user.id, key }).first()).toBeUndefined();
      },
      { timeoutMs: 5000 },
    );
  });
});
