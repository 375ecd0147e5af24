import { once } from 'node:events';

import { createLogger } from '@cards/runtime';
import type { Knex } from 'knex';

import type { OverdueCardsStore } from '../../domain/fail-overdue-cards';
import { startSagaReaper } from './saga-reaper';

const logger = createLogger({ service: 'test', level: 'silent' });

/** Stands in for knex: records the NOTIFYs the reaper's notifier sends. */
function recordingDb(): { db: Knex; notified: unknown[][] } {
  const notified: unknown[][] = [];
  const db = {
    raw: (_sql: string, bindings: unknown[]) => {
      notified.push(bindings);
      return Promise.resolve();
    },
  } as unknown as Knex;
  return { db, notified };
}

describe('startSagaReaper', () => {
  it('when cards are overdue, then they are failed with the configured deadline and card_changed carries their ids', async () => {
    const asked: Parameters<OverdueCardsStore['failOverdue']>[0][] = [];
    const requestedAt = new Date();
    const batches = [['card-1', 'card-2'].map((id) => ({ id, requestedAt, failedAt: requestedAt }))];
    const { db, notified } = recordingDb();
    const reaper = startSagaReaper({
      db,
      logger,
      deadlineSeconds: 42,
      intervalMs: 60_000,
      store: {
        failOverdue: (batch) => {
          asked.push(batch);
          return Promise.resolve(batches.shift() ?? []);
        },
      },
    });

    await once(reaper.job.signals, 'ran');
    await reaper.stop();

    expect(asked[0]).toMatchObject({ deadlineSeconds: 42, failure: { code: 'TIMED_OUT' } });
    expect(notified).toEqual([['card_changed', 'card-1,card-2']]);
  });

  it('when nothing is overdue, then no NOTIFY is sent', async () => {
    const { db, notified } = recordingDb();
    const reaper = startSagaReaper({
      db,
      logger,
      deadlineSeconds: 1,
      intervalMs: 60_000,
      store: { failOverdue: () => Promise.resolve([]) },
    });

    await once(reaper.job.signals, 'ran');
    await reaper.stop();

    expect(notified).toEqual([]);
  });
});
