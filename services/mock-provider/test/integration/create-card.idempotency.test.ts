import { ProviderCardSchema, ProviderErrorSchema, type ProviderCard } from '@cards/contracts';
import { createTestDatabase, type TestDatabase } from '@cards/test-support';
import type { Knex } from 'knex';

import {
  buildCreateRequest,
  countCards,
  postCard,
  providerDatabase,
  startProvider,
  type ProviderProcess,
} from '../support/mock-provider';

describe('POST /v1/cards, idempotent by Idempotency-Key', () => {
  let database: TestDatabase;
  let provider: ProviderProcess;
  let db: Knex;

  beforeAll(async () => {
    database = await createTestDatabase('mock-provider-idempotency');
    provider = await startProvider('mock-provider-idempotency', database.url);
    db = providerDatabase(database.url);
  });

  afterAll(async () => {
    await db.destroy();
    await provider.process.stop();
    await database.drop();
  });

  it('when a card is created, then it is 201 with a contract-valid ACTIVE card expiring in three years', async () => {
    const request = buildCreateRequest({ color: 'gold' });

    const response = await postCard(provider.url, request.reference, request);

    expect(response.status).toBe(201);
    const card = ProviderCardSchema.parse(await response.json());
    const now = new Date();
    expect(card).toMatchObject({
      ...request,
      status: 'ACTIVE',
      expMonth: now.getUTCMonth() + 1,
      expYear: now.getUTCFullYear() + 3,
      cancelledAt: null,
    });
    expect(card.id).toMatch(/^pc_[0-9a-f]{24}$/);
  });

  it('when the same key comes again with the same body, then it is 200 with the same card and one row', async () => {
    const request = buildCreateRequest();
    const first = await postCard(provider.url, request.reference, request);
    // Same fields in another order: still the same request.
    const reordered = {
      cardholderRef: request.cardholderRef,
      color: request.color,
      reference: request.reference,
    };

    const again = await postCard(provider.url, request.reference, reordered);

    expect(first.status).toBe(201);
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual(await first.json());
    expect(await countCards(db, request.reference)).toBe(1);
  });

  it('when the same key comes with a different body, then it is 422 idempotency_key_reused and nothing changes', async () => {
    const request = buildCreateRequest({ color: 'white' });
    await postCard(provider.url, request.reference, request);

    const response = await postCard(provider.url, request.reference, { ...request, color: 'pink' });

    expect(response.status).toBe(422);
    const body = ProviderErrorSchema.parse(await response.json());
    expect(body.error).toBe('idempotency_key_reused');
    const rows: { color: string }[] = await db('cards')
      .where({ reference: request.reference })
      .select('color');
    expect(rows).toEqual([{ color: 'white' }]);
  });

  it('when identical creates arrive at once, then one card is created and every answer carries it', async () => {
    const request = buildCreateRequest();

    const responses = await Promise.all(
      Array.from({ length: 20 }, () => postCard(provider.url, request.reference, request)),
    );

    const statuses = responses.map((response) => response.status).sort((left, right) => left - right);
    expect(statuses).toEqual([...Array.from({ length: 19 }, () => 200), 201]);
    const cards = (await Promise.all(responses.map((response) => response.json()))) as ProviderCard[];
    expect(new Set(cards.map((card) => card.id)).size).toBe(1);
    expect(await countCards(db, request.reference)).toBe(1);
  });

  it('when the card is stored, then no full card number or CVV is kept, only last4 and expiry', async () => {
    const columns = await db('information_schema.columns')
      .where({ table_schema: 'mock_provider', table_name: 'cards' })
      .pluck<string[]>('column_name');

    expect(columns.sort()).toEqual(
      [
        'id',
        'idempotency_key',
        'request_fingerprint',
        'reference',
        'color',
        'cardholder_ref',
        'status',
        'last4',
        'exp_month',
        'exp_year',
        'created_at',
        'cancelled_at',
      ].sort(),
    );
  });
});
