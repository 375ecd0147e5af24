import type { AnyCardEvent } from '@cards/contracts';

import type { CardRecord } from './card';
import { AppError } from '@cards/contracts';
import {
  CardRequestsRateLimited,
  requestCard,
  type CardRequestStore,
  type RequestCardDeps,
} from './request-card';

/** An in-memory store: applies the limits as the database function does, records what requestCard wrote. */
function fakeDeps(options: { held?: number; cardLimitPerUser?: number; rateLimitedForMs?: number } = {}) {
  const inserted: CardRecord[] = [];
  const outbox: AnyCardEvent[] = [];
  let ids = 0;
  const createdAt = new Date('2026-01-02T03:04:05.000Z');
  const store: CardRequestStore = {
    createCardIfAllowed: ({ card, event, cardLimit }) => {
      if (options.rateLimitedForMs !== undefined) {
        return Promise.resolve({ outcome: 'rate-limited', retryAfterMs: options.rateLimitedForMs });
      }
      if ((options.held ?? 0) >= cardLimit) {
        return Promise.resolve({ outcome: 'card-limit-reached' });
      }
      const record: CardRecord = {
        ...card,
        status: 'PENDING',
        providerCardId: null,
        last4: null,
        expMonth: null,
        expYear: null,
        failureCode: null,
        failureMessage: null,
        createdAt,
        updatedAt: createdAt,
        activatedAt: null,
        failedAt: null,
        providerCancelRequestedAt: null,
        providerCancelledAt: null,
      };
      inserted.push(record);
      // The store stamps the event with the card's creation time, as the database function does.
      outbox.push({ ...event, data: { ...event.data, requestedAt: createdAt.toISOString() } });
      return Promise.resolve({ outcome: 'created', card: record });
    },
  };
  const outboxWritten = jest.fn();
  const deps: RequestCardDeps = {
    store,
    cardLimitPerUser: options.cardLimitPerUser ?? 5,
    rateLimitPerUser: { points: 10, windowSeconds: 60 },
    sagaDeadlineSeconds: 600,
    outboxWritten,
    newId: () => `generated-${++ids}`,
    now: () => new Date('2026-01-02T03:04:04.900Z'),
  };
  return { deps, inserted, outbox, outboxWritten };
}

const input = { userId: 'user-1', color: 'gold' as const, correlationId: 'req-1' };

describe('requestCard', () => {
  it('when no card id is given, then the card gets a fresh one and its event names it', async () => {
    const { deps, inserted, outbox, outboxWritten } = fakeDeps();

    const card = await requestCard(input, deps);

    expect(card.id).toBe('generated-1');
    expect(inserted).toHaveLength(1);
    expect(outbox).toHaveLength(1);
    expect(outbox[0]).toMatchObject({ subject: 'generated-1', data: { cardId: 'generated-1' } });
    expect(outbox[0]?.id).not.toBe(card.id);
    expect(outboxWritten).toHaveBeenCalledTimes(1);
  });

  it('when the card is created, then its event states the creation time the transaction gave it', async () => {
    const { deps, outbox } = fakeDeps();

    const card = await requestCard(input, deps);

    expect(card.createdAt.toISOString()).toBe('2026-01-02T03:04:05.000Z');
    expect(outbox[0]).toMatchObject({ data: { requestedAt: '2026-01-02T03:04:05.000Z', color: 'gold' } });
  });

  it('when the card is created, then its command carries the saga deadline, after which no provider card may be made', async () => {
    const { deps, outbox } = fakeDeps();

    await requestCard(input, deps);

    expect(outbox[0]).toMatchObject({ data: { deadline: '2026-01-02T03:14:04.900Z' } });
  });

  it('when a reserved card id is given, then the card and its event carry exactly that id', async () => {
    const { deps, inserted, outbox } = fakeDeps();

    const card = await requestCard({ ...input, cardId: 'reserved-id' }, deps);

    expect(card.id).toBe('reserved-id');
    expect(inserted[0]?.id).toBe('reserved-id');
    expect(outbox[0]).toMatchObject({ subject: 'reserved-id', data: { cardId: 'reserved-id' } });
  });

  it('when the user is at the limit, then it is CARD_LIMIT_REACHED and nothing is written', async () => {
    const { deps, inserted, outbox, outboxWritten } = fakeDeps({ held: 5, cardLimitPerUser: 5 });

    const attempt = requestCard({ ...input, cardId: 'reserved-id' }, deps);

    await expect(attempt).rejects.toBeInstanceOf(AppError);
    await expect(attempt).rejects.toMatchObject({ code: 'CARD_LIMIT_REACHED', kind: 'conflict' });
    expect(inserted).toHaveLength(0);
    expect(outbox).toHaveLength(0);
    expect(outboxWritten).not.toHaveBeenCalled();
  });

  it('when the user is over the rate limit, then it is RATE_LIMITED with the seconds to wait and nothing is written', async () => {
    const { deps, inserted, outbox, outboxWritten } = fakeDeps({ rateLimitedForMs: 1500 });

    const attempt = requestCard(input, deps);

    await expect(attempt).rejects.toBeInstanceOf(CardRequestsRateLimited);
    await expect(attempt).rejects.toMatchObject({ code: 'RATE_LIMITED', retryAfterSeconds: 2 });
    expect(inserted).toHaveLength(0);
    expect(outbox).toHaveLength(0);
    expect(outboxWritten).not.toHaveBeenCalled();
  });

  it('when the rate-limit window ends within a second, then the client is still told to wait one second', async () => {
    const { deps } = fakeDeps({ rateLimitedForMs: 0 });

    await expect(requestCard(input, deps)).rejects.toMatchObject({ retryAfterSeconds: 1 });
  });
});
