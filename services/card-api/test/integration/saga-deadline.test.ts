import { randomUUID } from 'node:crypto';

import { CardSchema, EventType, ProviderCardListSchema, type Card } from '@cards/contracts';
import { eventually, type TestDatabase } from '@cards/test-support';
import type { Knex } from 'knex';

import { createDatabase } from '../../src/data-access/database';
import { failOverduePendingCards } from '../../src/data-access/reaper.repository';
import { buildCardRequest, createMigratedDatabase } from '../support/card-api';
import { startSaga, type SagaHarness } from '../support/saga';

describe('saga deadline, across real processes', () => {
  let saga: SagaHarness;
  let token: string;

  beforeAll(async () => {
    saga = await startSaga('saga-deadline', {
      cardApi: { SAGA_DEADLINE_SECONDS: '1', SAGA_REAPER_INTERVAL_MS: '200' },
      // The slow create must succeed late (after the deadline), not time out in the worker.
      providerWorker: { PROVIDER_TIMEOUT_MS: '15000' },
    });
    ({ token } = await saga.createUser());
  }, 90_000);

  afterAll(() => saga.stop());

  async function providerCards(cardId: string) {
    const response = await fetch(`${saga.providerUrl}/v1/cards?reference=${cardId}`);
    return ProviderCardListSchema.parse(await response.json()).data;
  }

  it('when the provider answers after the deadline, then the card ends FAILED/TIMED_OUT and the late provider card is cancelled', async () => {
    await saga.setProviderFaults({ latencyMs: 8000 });
    const response = await saga.request('/v1/cards', { method: 'POST', token, body: buildCardRequest() });
    expect(response.status).toBe(202);
    const requested = CardSchema.parse(await response.json());

    // A long-poll is woken by the reaper's card_changed hint, well before the provider's 8 s answer.
    const polledAt = Date.now();
    const polled = await saga.request(`/v1/cards/${requested.id}`, { token, headers: { prefer: 'wait=10' } });
    const failed: Card = CardSchema.parse(await polled.json());
    expect(Date.now() - polledAt).toBeLessThan(6000);
    expect(failed).toMatchObject({ status: 'FAILED', failureCode: 'TIMED_OUT', last4: null });
    expect(failed.failureMessage).toMatch(/saga deadline of 1 s/);
    // The create already under way keeps its latency; the cancel need not wait for it.
    await saga.setProviderFaults({ latencyMs: 0 });

    const cancelled = await eventually(
      async () => {
        const [issued, ...others] = await providerCards(requested.id);
        expect(others).toEqual([]);
        expect(issued).toMatchObject({ status: 'CANCELLED' });
        return issued!;
      },
      { timeoutMs: 30_000 },
    );
    const row = await eventually(
      async () => {
        const card = await saga
          .db('cards')
          .where({ id: requested.id })
          .first<{ status: string; provider_card_id: string | null; provider_cancelled_at: Date | null }>();
        expect(card.provider_cancelled_at).not.toBeNull();
        return card;
      },
      { timeoutMs: 15_000 },
    );
    expect(row).toMatchObject({ status: 'FAILED', provider_card_id: cancelled.id });
    const inbox = await saga
      .db('inbox')
      .where({ card_id: requested.id })
      .orderBy('received_at')
      .select<{ type: string; outcome: string }[]>('type', 'outcome');
    expect(inbox).toEqual([
      { type: EventType.provisioned, outcome: 'compensation-requested' },
      { type: EventType.cancelled, outcome: 'provider-cancel-recorded' },
    ]);
    const final = await saga.request(`/v1/cards/${requested.id}`, { token });
    expect(CardSchema.parse(await final.json())).toMatchObject({
      status: 'FAILED',
      failureCode: 'TIMED_OUT',
    });
  });
});

describe('saga-deadline reaper query, against PostgreSQL', () => {
  let database: TestDatabase;
  let db: Knex;
  let userId: string;

  beforeAll(async () => {
    database = await createMigratedDatabase('saga-deadline-reaper');
    db = createDatabase({ url: database.url, poolMax: 8 });
    const [user] = await db('users')
      .insert({ external_id: `user-${randomUUID()}`, email: 'reaper@example.test' })
      .returning<{ id: string }[]>('id');
    userId = user!.id;
  });

  afterAll(async () => {
    await db.destroy();
    await database.drop();
  });

  async function insertCard(ageSeconds: number, status: 'PENDING' | 'FAILED' = 'PENDING'): Promise<string> {
    const id = randomUUID();
    await db('cards').insert({
      id,
      user_id: userId,
      color: 'gold',
      status,
      created_at: db.raw(/* sql */ 'now() - make_interval(secs => ?)', [ageSeconds]),
      ...(status === 'FAILED' && { failure_code: 'PROVIDER_REJECTED', failed_at: db.fn.now() }),
    });
    return id;
  }

  const failure = { code: 'TIMED_OUT', message: 'no provider result within the saga deadline of 60 s' };

  it('when several reapers run at once, then each overdue card is failed exactly once and nothing else changes', async () => {
    const overdue = await Promise.all(Array.from({ length: 40 }, () => insertCard(120)));
    const young = await insertCard(5);
    const alreadyFailed = await insertCard(120, 'FAILED');

    // Four "replicas", small batches, until none finds more.
    const reaped = await Promise.all(
      Array.from({ length: 4 }, async () => {
        const mine: string[] = [];
        for (;;) {
          const cards = await failOverduePendingCards({ deadlineSeconds: 60, limit: 3, failure }, db);
          if (cards.length === 0) {
            return mine;
          }
          mine.push(...cards.map((card) => card.id));
        }
      }),
    );

    const all = reaped.flat();
    expect(all.sort()).toEqual([...overdue].sort());
    const rows = await db('cards')
      .whereIn('id', overdue)
      .select<{ status: string; failure_code: string; failure_message: string; failed_at: Date | null }[]>(
        'status',
        'failure_code',
        'failure_message',
        'failed_at',
      );
    expect(rows.every((row) => row.status === 'FAILED' && row.failure_code === 'TIMED_OUT')).toBe(true);
    expect(rows.every((row) => row.failed_at !== null && row.failure_message === failure.message)).toBe(true);
    expect(await db('cards').where({ id: young }).first('status')).toEqual({ status: 'PENDING' });
    expect(await db('cards').where({ id: alreadyFailed }).first('failure_code')).toEqual({
      failure_code: 'PROVIDER_REJECTED',
    });
  });
});
