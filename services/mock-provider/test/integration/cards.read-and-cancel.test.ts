import { randomUUID } from 'node:crypto';

import {
  ProviderCardListSchema,
  ProviderCardSchema,
  ProviderErrorSchema,
  type ProviderCard,
} from '@cards/contracts';
import { createTestDatabase, type TestDatabase } from '@cards/test-support';

import { buildCreateRequest, postCard, startProvider, type ProviderProcess } from '../support/mock-provider';

describe('reading, listing and cancelling provider cards', () => {
  let database: TestDatabase;
  let provider: ProviderProcess;

  beforeAll(async () => {
    database = await createTestDatabase('mock-provider-read-cancel');
    provider = await startProvider('mock-provider-read-cancel', database.url);
  });

  afterAll(async () => {
    await provider.process.stop();
    await database.drop();
  });

  async function createCard(overrides: Parameters<typeof buildCreateRequest>[0] = {}): Promise<ProviderCard> {
    const request = buildCreateRequest(overrides);
    const response = await postCard(provider.url, `key-${request.cardholderRef}`, request);
    expect(response.status).toBe(201);
    return ProviderCardSchema.parse(await response.json());
  }

  async function list(query: string): Promise<ProviderCard[]> {
    const response = await fetch(`${provider.url}/v1/cards?${query}`);
    expect(response.status).toBe(200);
    return ProviderCardListSchema.parse(await response.json()).data;
  }

  async function cancel(id: string): Promise<Response> {
    return fetch(`${provider.url}/v1/cards/${encodeURIComponent(id)}/cancel`, { method: 'POST' });
  }

  it('when a card is read by id, then it is the card that was created', async () => {
    const card = await createCard();

    const response = await fetch(`${provider.url}/v1/cards/${card.id}`);

    expect(response.status).toBe(200);
    expect(ProviderCardSchema.parse(await response.json())).toEqual(card);
  });

  it('when no card has the id, then reading and cancelling are 404 card_not_found', async () => {
    for (const response of [await fetch(`${provider.url}/v1/cards/pc_nope`), await cancel('pc_nope')]) {
      expect(response.status).toBe(404);
      expect(ProviderErrorSchema.parse(await response.json()).error).toBe('card_not_found');
    }
  });

  it('when cards are listed by reference, then only that reference comes back, newest first', async () => {
    const reference = randomUUID();
    const older = await createCard({ reference });
    const newer = await createCard({ reference });
    await createCard();

    const cards = await list(`reference=${reference}`);

    expect(cards.map((card) => card.id)).toEqual([newer.id, older.id]);
  });

  it('when cards are listed by status, time range and limit, then the filters apply', async () => {
    const reference = randomUUID();
    const first = await createCard({ reference });
    const second = await createCard({ reference });
    const third = await createCard({ reference });
    await cancel(second.id);

    expect(await list(`reference=${reference}&status=CANCELLED`)).toMatchObject([{ id: second.id }]);
    expect((await list(`reference=${reference}&status=ACTIVE`)).map((card) => card.id)).toEqual([
      third.id,
      first.id,
    ]);
    expect((await list(`reference=${reference}&limit=1`)).map((card) => card.id)).toEqual([third.id]);
    // createdFrom is inclusive, createdTo exclusive: a createdAt read from an answer selects exactly.
    const from = encodeURIComponent(second.createdAt);
    const to = encodeURIComponent(third.createdAt);
    const inRange = await list(`reference=${reference}&createdFrom=${from}&createdTo=${to}`);
    const expected = [third, second, first].filter(
      (card) => card.createdAt >= second.createdAt && card.createdAt < third.createdAt,
    );
    expect(inRange.map((card) => card.id)).toEqual(expected.map((card) => card.id));
  });

  it('when the list query is invalid, then it is 400 invalid_request', async () => {
    for (const query of ['reference=not-a-uuid', 'limit=1001', 'limit=0', 'status=PENDING', 'colour=black']) {
      const response = await fetch(`${provider.url}/v1/cards?${query}`);
      expect(response.status).toBe(400);
      expect(ProviderErrorSchema.parse(await response.json()).error).toBe('invalid_request');
    }
  });

  it('when a card is cancelled twice, then both answers are the same CANCELLED card', async () => {
    const card = await createCard();

    const first = await cancel(card.id);
    const second = await cancel(card.id);

    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    const cancelled = ProviderCardSchema.parse(await first.json());
    expect(cancelled).toMatchObject({ id: card.id, status: 'CANCELLED' });
    expect(cancelled.cancelledAt).not.toBeNull();
    expect(ProviderCardSchema.parse(await second.json())).toEqual(cancelled);
    const read = await fetch(`${provider.url}/v1/cards/${card.id}`);
    expect(ProviderCardSchema.parse(await read.json())).toEqual(cancelled);
  });
});
