import { randomUUID } from 'node:crypto';

import { deadlineMessage, failOverdueCards, type OverdueCardsStore } from './fail-overdue-cards';

const requestedAt = new Date('2026-11-28T10:00:00Z');
const failedAt = new Date('2026-11-28T10:02:05Z');

/** A store that fails the given batches of ids in order and records what it was asked. */
function scriptedStore(
  batches: string[][],
): OverdueCardsStore & { calls: Parameters<OverdueCardsStore['failOverdue']>[0][] } {
  const calls: Parameters<OverdueCardsStore['failOverdue']>[0][] = [];
  return {
    calls,
    failOverdue(batch) {
      calls.push(batch);
      return Promise.resolve((batches.shift() ?? []).map((id) => ({ id, requestedAt, failedAt })));
    },
  };
}

const ids = (count: number): string[] => Array.from({ length: count }, () => randomUUID());

describe('failOverdueCards', () => {
  it('when no card is overdue, then nothing changes and no hint is sent', async () => {
    const store = scriptedStore([[]]);
    const changed: string[][] = [];

    const result = await failOverdueCards({
      store,
      deadlineSeconds: 120,
      cardsChanged: (cardIds) => changed.push([...cardIds]),
    });

    expect(result.failed).toEqual([]);
    expect(changed).toEqual([]);
    expect(store.calls).toHaveLength(1);
  });

  it('when cards are overdue, then they are failed with TIMED_OUT and a message naming the deadline', async () => {
    const overdue = ids(2);
    const store = scriptedStore([overdue]);
    const changed: string[][] = [];

    const result = await failOverdueCards({
      store,
      deadlineSeconds: 90,
      cardsChanged: (cardIds) => changed.push([...cardIds]),
    });

    expect(result.failed).toEqual(overdue);
    expect(changed).toEqual([overdue]);
    expect(store.calls[0]).toEqual({
      deadlineSeconds: 90,
      limit: 500,
      failure: { code: 'TIMED_OUT', message: deadlineMessage(90) },
    });
    expect(deadlineMessage(90)).toContain('deadline of 90 s');
  });

  it('when cards are failed, then each saga is reported ended FAILED TIMED_OUT with its database times', async () => {
    const overdue = ids(2);
    const ended: unknown[] = [];

    await failOverdueCards({
      store: scriptedStore([overdue]),
      deadlineSeconds: 90,
      cardsChanged: () => undefined,
      sagasEnded: (sagas) => ended.push(...sagas),
    });

    expect(ended).toEqual(
      overdue.map((cardId) => ({
        cardId,
        status: 'FAILED',
        failureCode: 'TIMED_OUT',
        requestedAt,
        endedAt: failedAt,
      })),
    );
  });

  it('when a batch comes back full, then the next batch is taken, and each batch is hinted after it commits', async () => {
    const first = ids(2);
    const second = ids(1);
    const store = scriptedStore([first, second]);
    const changed: string[][] = [];

    const result = await failOverdueCards({
      store,
      deadlineSeconds: 1,
      batchSize: 2,
      cardsChanged: (cardIds) => changed.push([...cardIds]),
    });

    expect(result.failed).toEqual([...first, ...second]);
    expect(changed).toEqual([first, second]);
    expect(store.calls).toHaveLength(2);
  });

  it('when the backlog outlasts maxBatches, then the run stops and leaves the rest to the next run', async () => {
    const store = scriptedStore([ids(1), ids(1), ids(1)]);

    const result = await failOverdueCards({
      store,
      deadlineSeconds: 1,
      batchSize: 1,
      maxBatches: 2,
      cardsChanged: () => undefined,
    });

    expect(result.failed).toHaveLength(2);
    expect(store.calls).toHaveLength(2);
  });

  it('when the signal is aborted, then no further batch starts', async () => {
    const controller = new AbortController();
    const store = scriptedStore([ids(1), ids(1)]);

    const result = await failOverdueCards({
      store,
      deadlineSeconds: 1,
      batchSize: 1,
      signal: controller.signal,
      cardsChanged: () => {
        controller.abort();
      },
    });

    expect(result.failed).toHaveLength(1);
    expect(store.calls).toHaveLength(1);
  });
});
