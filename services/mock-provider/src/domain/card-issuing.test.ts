import { randomUUID } from 'node:crypto';

import type { ProviderCreateCardRequest } from '@cards/contracts';

import {
  cancelCard,
  expiryFrom,
  issueCard,
  newProviderCardId,
  randomLast4,
  requestFingerprint,
  type ProviderCardRecord,
  type ProviderCardStore,
} from './card-issuing';

function buildRequest(overrides: Partial<ProviderCreateCardRequest> = {}): ProviderCreateCardRequest {
  return { reference: randomUUID(), color: 'gold', cardholderRef: randomUUID(), ...overrides };
}

/** An in-memory store with the same key semantics as the table's unique index. */
function fakeStore(): ProviderCardStore {
  const byKey = new Map<string, { card: ProviderCardRecord; requestFingerprint: string }>();
  const find = (id: string) => [...byKey.values()].find((entry) => entry.card.id === id);
  return {
    insertIfKeyFree: (card) => {
      if (byKey.has(card.idempotencyKey)) {
        return Promise.resolve(null);
      }
      const record: ProviderCardRecord = {
        id: card.id,
        reference: card.reference,
        color: card.color,
        cardholderRef: card.cardholderRef,
        status: 'ACTIVE',
        last4: card.last4,
        expMonth: card.expMonth,
        expYear: card.expYear,
        createdAt: new Date(),
        cancelledAt: null,
      };
      byKey.set(card.idempotencyKey, { card: record, requestFingerprint: card.requestFingerprint });
      return Promise.resolve(record);
    },
    findByIdempotencyKey: (key) => Promise.resolve(byKey.get(key) ?? null),
    findById: (id) => Promise.resolve(find(id)?.card ?? null),
    list: () => Promise.resolve([...byKey.values()].map((entry) => entry.card)),
    cancelIfActive: (id) => {
      const entry = find(id);
      if (entry?.card.status !== 'ACTIVE') {
        return Promise.resolve(null);
      }
      entry.card = { ...entry.card, status: 'CANCELLED', cancelledAt: new Date() };
      return Promise.resolve(entry.card);
    },
  };
}

describe('requestFingerprint', () => {
  it('when the same request arrives with its fields in another order, then the fingerprint is the same', () => {
    const request = buildRequest();
    const reordered = {
      cardholderRef: request.cardholderRef,
      color: request.color,
      reference: request.reference,
    };

    expect(requestFingerprint(reordered)).toBe(requestFingerprint(request));
    expect(requestFingerprint(request)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('when any field differs, then the fingerprint differs', () => {
    const request = buildRequest();

    expect(requestFingerprint({ ...request, color: 'pink' })).not.toBe(requestFingerprint(request));
    expect(requestFingerprint({ ...request, reference: randomUUID() })).not.toBe(requestFingerprint(request));
    expect(requestFingerprint({ ...request, cardholderRef: randomUUID() })).not.toBe(
      requestFingerprint(request),
    );
  });
});

describe('expiryFrom', () => {
  it('when a card is issued, then it expires in the same month three years later', () => {
    expect(expiryFrom(new Date('2026-11-28T10:00:00Z'))).toEqual({ expMonth: 11, expYear: 2029 });
  });

  it('when a card is issued in January or December, then the month stays within 1..12', () => {
    expect(expiryFrom(new Date('2027-01-01T00:00:00Z'))).toEqual({ expMonth: 1, expYear: 2030 });
    expect(expiryFrom(new Date('2027-12-31T23:59:59.999Z'))).toEqual({ expMonth: 12, expYear: 2030 });
  });

  it('when it is a new year in UTC but not yet locally, then UTC decides', () => {
    expect(expiryFrom(new Date('2027-12-31T23:30:00-05:00'))).toEqual({ expMonth: 1, expYear: 2031 });
  });
});

describe('card identifiers and numbers', () => {
  it('when a card is made, then its id is pc_ and 24 hex characters and its last4 four digits', () => {
    for (let i = 0; i < 200; i += 1) {
      expect(newProviderCardId()).toMatch(/^pc_[0-9a-f]{24}$/);
      expect(randomLast4()).toMatch(/^\d{4}$/);
    }
  });
});

describe('issueCard', () => {
  it('when a key is new, then a card is created with the request fields and a 3-year expiry', async () => {
    const store = fakeStore();
    const request = buildRequest();

    const result = await issueCard(
      { idempotencyKey: 'key-1', request, now: new Date('2026-03-15T12:00:00Z') },
      { store },
    );

    expect(result).toMatchObject({
      outcome: 'created',
      card: { ...request, status: 'ACTIVE', expMonth: 3, expYear: 2029, cancelledAt: null },
    });
  });

  it('when the same key comes with the same request, then the first card is returned and none is made', async () => {
    const store = fakeStore();
    const request = buildRequest();
    const first = await issueCard({ idempotencyKey: 'key-2', request }, { store });

    const again = await issueCard({ idempotencyKey: 'key-2', request: { ...request } }, { store });

    expect(first.outcome).toBe('created');
    expect(again).toEqual({ outcome: 'replayed', card: first.outcome === 'created' ? first.card : null });
    expect(await store.list({ limit: 10 })).toHaveLength(1);
  });

  it('when the same key comes with another request, then it is refused as a reused key', async () => {
    const store = fakeStore();
    await issueCard({ idempotencyKey: 'key-3', request: buildRequest() }, { store });

    const result = await issueCard({ idempotencyKey: 'key-3', request: buildRequest() }, { store });

    expect(result).toEqual({ outcome: 'key-reused' });
  });
});

describe('cancelCard', () => {
  it('when a card is cancelled twice, then the second answer is the first one', async () => {
    const store = fakeStore();
    const issued = await issueCard({ idempotencyKey: 'key-4', request: buildRequest() }, { store });
    const id = issued.outcome === 'created' ? issued.card.id : '';

    const first = await cancelCard(id, { store });
    const second = await cancelCard(id, { store });

    expect(first).toMatchObject({ status: 'CANCELLED' });
    expect(second).toEqual(first);
  });

  it('when no card has the id, then there is nothing to cancel', async () => {
    expect(await cancelCard('pc_unknown', { store: fakeStore() })).toBeNull();
  });
});
