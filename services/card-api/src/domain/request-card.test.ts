import type { AnyCardEvent, CardColor } from '@cards/contracts';

import type { CardRecord } from './card';
import { AppError } from './errors';
import { requestCard, type RequestCardDeps, type RequestCardTransaction } from './request-card';

/** An in-memory transaction port: records what requestCard wrote, commits nothing anywhere. */
function fakeDeps(options: { held?: number; cardLimitPerUser?: number } = {}) {
  const inserted: CardRecord[] = [];
  const outbox: AnyCardEvent[] = [];
  let ids = 0;
  const tx: RequestCardTransaction = {
    lockUser: () => Promise.resolve(new Date('2026-01-02T03:04:05.000Z')),
    countCardsNotFailed: () => Promise.resolve(options.held ?? 0),
    insertCardWithEvents: (
      card: { id: string; userId: string; color: CardColor; correlationId: string | null; createdAt: Date },
      events,
    ) => {
      const record: CardRecord = {
        ...card,
        status: 'PENDING',
        providerCardId: null,
        last4: null,
        expMonth: null,
        expYear: null,
        failureCode: null,
        failureMessage: null,
        updatedAt: card.createdAt,
        activatedAt: null,
        failedAt: null,
        providerCancelRequestedAt: null,
        providerCancelledAt: null,
      };
      inserted.push(record);
      outbox.push(...events);
      return Promise.resolve(record);
    },
  };
  const outboxWritten = jest.fn();
  const deps: RequestCardDeps = {
    transaction: (work) => work(tx),
    cardLimitPerUser: options.cardLimitPerUser ?? 5,
    outboxWritten,
    newId: () => `generated-${++ids}`,
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
});
