import { createCardsClient } from '@cards/client';
import { CardSchema, ProviderCardListSchema, type Card } from '@cards/contracts';
import { eventually } from '@cards/test-support';

import { buildCardRequest } from '../support/card-api';
import { startSaga, type SagaHarness } from '../support/saga';

describe('the card saga, end to end across real processes', () => {
  let saga: SagaHarness;
  let token: string;

  beforeAll(async () => {
    saga = await startSaga('saga-e2e');
    ({ token } = await saga.createUser());
  }, 90_000);

  afterAll(() => saga.stop());

  async function requestCard(color = 'blue'): Promise<Card> {
    const response = await saga.request('/v1/cards', {
      method: 'POST',
      token,
      body: buildCardRequest({ color }),
    });
    expect(response.status).toBe(202);
    return CardSchema.parse(await response.json());
  }

  /** Long-polls until the card is terminal, as a client would. */
  async function pollToTerminal(cardId: string): Promise<Card> {
    for (let round = 0; round < 6; round++) {
      const response = await saga.request(`/v1/cards/${cardId}`, { token, headers: { prefer: 'wait=10' } });
      const card = CardSchema.parse(await response.json());
      if (card.status !== 'PENDING') {
        return card;
      }
    }
    throw new Error(`card ${cardId} still PENDING after a minute`);
  }

  async function providerCards(cardId: string) {
    const response = await fetch(`${saga.providerUrl}/v1/cards?reference=${cardId}`);
    return ProviderCardListSchema.parse(await response.json()).data;
  }

  it('when a card is requested, then a long-poll sees it ACTIVE with the provider card’s last4 and expiry', async () => {
    const card = await requestCard();

    const final = await pollToTerminal(card.id);

    expect(final).toMatchObject({ id: card.id, status: 'ACTIVE', failureCode: null });
    const [issued, ...others] = await providerCards(card.id);
    expect(others).toHaveLength(0);
    expect(issued).toMatchObject({ status: 'ACTIVE', color: 'blue' });
    expect(final).toMatchObject({
      last4: issued?.last4,
      expMonth: issued?.expMonth,
      expYear: issued?.expYear,
    });
    expect(final.activatedAt).not.toBeNull();
  });

  it('when a client developer drives the saga with @cards/client, then the card ends ACTIVE, and a repeated request makes no second card', async () => {
    const client = createCardsClient({ baseUrl: saga.api.url, token });
    const idempotencyKey = `client-${Date.now()}`;

    const accepted = await client.requestCard('gold', { idempotencyKey });
    const repeated = await client.requestCard('gold', { idempotencyKey });
    const done = await client.waitForTerminal(accepted.id, { timeoutMs: 60_000 });

    expect(accepted.status).toBe('PENDING');
    expect(repeated.id).toBe(accepted.id);
    expect(done).toMatchObject({ id: accepted.id, status: 'ACTIVE', color: 'gold' });
    expect(done.last4).toMatch(/^\d{4}$/);
    // Every operation is there, typed, for what the helpers do not cover.
    const listed = await client.api.GET('/v1/cards', { params: { query: { status: 'ACTIVE' } } });
    expect(listed.data?.data.filter((card) => card.id === accepted.id)).toHaveLength(1);
  });

  it('when the provider rejects the card, then it ends FAILED with PROVIDER_REJECTED and no provider card exists', async () => {
    await saga.setProviderFaults({ rejectRate: 1 });
    try {
      const card = await requestCard();
      const final = await pollToTerminal(card.id);
      expect(final).toMatchObject({ status: 'FAILED', failureCode: 'PROVIDER_REJECTED', last4: null });
      expect(await providerCards(card.id)).toEqual([]);
    } finally {
      await saga.setProviderFaults({ rejectRate: 0 });
    }
  });

  it('when the provider answers something the contract does not allow, then it ends FAILED with PROVIDER_CONTRACT_VIOLATION', async () => {
    await saga.setProviderFaults({ malformedRate: 1 });
    try {
      const card = await requestCard();
      const final = await pollToTerminal(card.id);
      expect(final).toMatchObject({ status: 'FAILED', failureCode: 'PROVIDER_CONTRACT_VIOLATION' });
    } finally {
      await saga.setProviderFaults({ malformedRate: 0 });
    }
  });

  it('when the provider fails a few times and recovers, then the card still ends ACTIVE with one provider card', async () => {
    const createRequests = async (): Promise<number> =>
      ((await (await fetch(`${saga.providerUrl}/control/stats`)).json()) as { createRequests: number })
        .createRequests;
    const before = await createRequests();
    await saga.setProviderFaults({ errorRate: 1 });
    const card = await requestCard();
    // Recover only once the worker has met the failing provider, so the ACTIVE below needs a retry.
    await eventually(async () => {
      expect(await createRequests()).toBeGreaterThan(before);
    });
    await saga.setProviderFaults({ errorRate: 0 });

    const final = await pollToTerminal(card.id);

    expect(final.status).toBe('ACTIVE');
    expect(await providerCards(card.id)).toHaveLength(1);
  });
});
