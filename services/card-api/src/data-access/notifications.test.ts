import type { CardRecord } from '../domain/card';
import { CardChangeWaiters } from './notifications';

/** A card record as the batched read would return it. */
function buildCard(id: string, status: CardRecord['status']): CardRecord {
  const at = new Date('2026-01-02T03:04:05.000Z');
  return {
    id,
    userId: 'user-1',
    color: 'gold',
    status,
    providerCardId: null,
    last4: null,
    expMonth: null,
    expYear: null,
    failureCode: null,
    failureMessage: null,
    correlationId: null,
    createdAt: at,
    updatedAt: at,
    activatedAt: null,
    failedAt: null,
    providerCancelRequestedAt: null,
    providerCancelledAt: null,
  };
}

describe('CardChangeWaiters', () => {
  it('when one notification names many cards with many waiters, then one read of exactly those cards answers each waiter with its card', async () => {
    const reads: string[][] = [];
    const waiters = new CardChangeWaiters((ids) => {
      reads.push([...ids]);
      return Promise.resolve(ids.map((id) => buildCard(id, id.endsWith('0') ? 'ACTIVE' : 'FAILED')));
    });
    const ids = Array.from({ length: 20 }, (_, index) => `card-${index}`);
    const waiting = ids.flatMap((id) => [waiters.wait(id, 10_000), waiters.wait(id, 10_000)]);
    expect(waiters.size).toBe(40);

    await waiters.notify([...ids, 'card-nobody-waits-for']);
    const answered = await Promise.all(waiting);

    expect(reads).toHaveLength(1);
    expect([...(reads[0] ?? [])].sort()).toEqual([...ids].sort());
    expect(answered.map((card) => card?.id)).toEqual(ids.flatMap((id) => [id, id]));
    expect(answered.map((card) => card?.status)).toEqual(
      ids.flatMap((id) => (id.endsWith('0') ? ['ACTIVE', 'ACTIVE'] : ['FAILED', 'FAILED'])),
    );
    expect(waiters.size).toBe(0);
  });

  it('when a notification names no card anyone waits for, then nothing is read', async () => {
    const readCards = jest.fn(() => Promise.resolve([]));
    const waiters = new CardChangeWaiters(readCards);

    await waiters.notify(['card-1', 'card-2']);

    expect(readCards).not.toHaveBeenCalled();
  });

  it('when the batched read fails, then the waiters are woken without a card (they read for themselves)', async () => {
    const waiters = new CardChangeWaiters(() => Promise.reject(new Error('database down')));
    const waiting = waiters.wait('card-1', 10_000);

    await waiters.notify(['card-1']);

    await expect(waiting).resolves.toBeUndefined();
    expect(waiters.size).toBe(0);
  });

  it('when the wait times out or is aborted, then it resolves without a card and leaves no waiter behind', async () => {
    const waiters = new CardChangeWaiters(() => Promise.resolve([]));
    const controller = new AbortController();
    const timedOut = waiters.wait('card-1', 10);
    const aborted = waiters.wait('card-2', 10_000, controller.signal);
    controller.abort();

    await expect(timedOut).resolves.toBeUndefined();
    await expect(aborted).resolves.toBeUndefined();
    expect(waiters.size).toBe(0);
  });
});
