import { CardSchema, ProblemSchema } from '@cards/contracts';

import { start } from '../../src/main-api';
import { buildCardRequest, startCardApi, type CardApiHarness } from '../support/card-api';

describe('GET /v1/cards/{id}', () => {
  let harness: CardApiHarness;
  let owner: { id: string; token: string };
  let cardId: string;

  beforeAll(async () => {
    harness = await startCardApi('get-card', { LONG_POLL_MAX_SECONDS: '2' });
    owner = await harness.createUser();
    const created = await harness.request('/v1/cards', {
      method: 'POST',
      token: owner.token,
      body: buildCardRequest(),
    });
    cardId = CardSchema.parse(await created.json()).id;
  });

  afterAll(() => harness.stop());

  it('when the owner reads the card, then it is 200 with the card and an ETag', async () => {
    const response = await harness.request(`/v1/cards/${cardId}`, { token: owner.token });
    expect(response.status).toBe(200);
    expect(CardSchema.parse(await response.json())).toMatchObject({ id: cardId, status: 'PENDING' });
    expect(response.headers.get('etag')).toBeTruthy();
  });

  it('when another user reads it, then it is 404 exactly as for a missing card', async () => {
    const stranger = await harness.createUser();
    const theirs = await harness.request(`/v1/cards/${cardId}`, { token: stranger.token });
    const missing = await harness.request('/v1/cards/00000000-0000-4000-8000-000000000000', {
      token: stranger.token,
    });
    expect(theirs.status).toBe(404);
    expect(missing.status).toBe(404);
    const [a, b] = [ProblemSchema.parse(await theirs.json()), ProblemSchema.parse(await missing.json())];
    expect({ ...a, requestId: undefined }).toEqual({ ...b, requestId: undefined });
  });

  it('when the id is not a UUID, then it is 404', async () => {
    const response = await harness.request("/v1/cards/1'%20OR%20'1'='1", { token: owner.token });
    expect(response.status).toBe(404);
    expect(ProblemSchema.parse(await response.json()).code).toBe('CARD_NOT_FOUND');
  });

  it('when If-None-Match carries the current ETag, then it is 304 with no body', async () => {
    const first = await harness.request(`/v1/cards/${cardId}`, { token: owner.token });
    const etag = first.headers.get('etag') ?? '';
    const second = await harness.request(`/v1/cards/${cardId}`, {
      token: owner.token,
      headers: { 'if-none-match': etag },
    });
    expect(second.status).toBe(304);
    expect(await second.text()).toBe('');
  });

  it('when the card changes, then the ETag changes and If-None-Match no longer matches', async () => {
    const before = await harness.request(`/v1/cards/${cardId}`, { token: owner.token });
    const etag = before.headers.get('etag') ?? '';
    await harness.db('cards').where({ id: cardId }).update({
      status: 'FAILED',
      failure_code: 'PROVIDER_REJECTED',
      failure_message: 'no',
      failed_at: new Date(),
      updated_at: new Date(),
    });
    const after = await harness.request(`/v1/cards/${cardId}`, {
      token: owner.token,
      headers: { 'if-none-match': etag },
    });
    expect(after.status).toBe(200);
    expect(after.headers.get('etag')).not.toBe(etag);
    await harness
      .db('cards')
      .where({ id: cardId })
      .update({ status: 'PENDING', failure_code: null, failure_message: null, failed_at: null });
  });

  it('when Prefer: wait=N asks more than allowed, then it waits the cap, says so, and answers the PENDING card', async () => {
    const startedAt = Date.now();
    const response = await harness.request(`/v1/cards/${cardId}`, {
      token: owner.token,
      headers: { prefer: 'wait=25' },
    });
    const elapsed = Date.now() - startedAt;
    expect(response.status).toBe(200);
    expect(response.headers.get('preference-applied')).toBe('wait=2');
    expect(CardSchema.parse(await response.json()).status).toBe('PENDING');
    expect(elapsed).toBeGreaterThanOrEqual(1900);
  });

  it('when the card becomes terminal during a long-poll, then the poll answers at once with it (woken by NOTIFY)', async () => {
    const other = await harness.request('/v1/cards', {
      method: 'POST',
      token: owner.token,
      body: buildCardRequest(),
    });
    const otherId = CardSchema.parse(await other.json()).id;
    // A second API over the same database that lets a poll wait 30 s: an answer well before then means NOTIFY woke it.
    const patient = await start({ ...harness.config, LONG_POLL_MAX_SECONDS: 30 });
    const poll = fetch(`${patient.url}/v1/cards/${otherId}`, {
      headers: { authorization: `Bearer ${owner.token}`, prefer: 'wait=30' },
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    await harness.db.transaction(async (tx) => {
      await tx('cards').where({ id: otherId }).update({
        status: 'FAILED',
        failure_code: 'TIMED_OUT',
        failure_message: 'late',
        failed_at: new Date(),
      });
      await tx.raw(/* sql */ "SELECT pg_notify('card_changed', ?)", [otherId]);
    });
    const startedWaitingAt = Date.now();
    const response = await poll;
    const waited = Date.now() - startedWaitingAt;
    await patient.stop();
    expect(waited).toBeLessThan(15_000);
    expect(CardSchema.parse(await response.json())).toMatchObject({
      status: 'FAILED',
      failureCode: 'TIMED_OUT',
    });
  });
});
