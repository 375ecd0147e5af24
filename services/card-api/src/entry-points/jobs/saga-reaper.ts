import type { Logger } from '@cards/runtime';
import type { Knex } from 'knex';

import { Channels, CoalescingNotifier } from '../../data-access/notifications';
import { overdueCardsStore } from '../../data-access/reaper.repository';
import type { SagaEnd } from '../../domain/card';
import { failOverdueCards, type OverdueCardsStore } from '../../domain/fail-overdue-cards';
import { PeriodicJob } from './periodic-job';

/** The running reaper. */
export interface SagaReaper {
  job: PeriodicJob;
  /** Waits for a run in progress, then sends the hints still pending. */
  stop(): Promise<void>;
}

/**
 * Starts the saga-deadline reaper inside a card-api process: every `intervalMs` it fails the cards still PENDING
 * past the deadline (TIMED_OUT) and hints `card_changed` with their ids, so held long-polls answer at once. Every
 * replica runs one; their batches skip each other's locked rows.
 */
export function startSagaReaper(options: {
  db: Knex;
  logger: Logger;
  deadlineSeconds: number;
  intervalMs: number;
  store?: OverdueCardsStore;
  /** Called after each committed batch with the sagas it ended (card_saga_duration_seconds). */
  sagasEnded?: (sagas: readonly SagaEnd[]) => void;
}): SagaReaper {
  const log = options.logger.child({ component: 'saga-reaper' });
  const cardChanged = new CoalescingNotifier(options.db, Channels.cardChanged, options.logger);
  const store = options.store ?? overdueCardsStore(options.db);
  const job = new PeriodicJob({
    name: 'saga-reaper',
    intervalMs: options.intervalMs,
    logger: log,
    run: async (signal) => {
      const { failed } = await failOverdueCards({
        store,
        deadlineSeconds: options.deadlineSeconds,
        signal,
        cardsChanged: (cardIds) => {
          cardChanged.hint(cardIds);
        },
        ...(options.sagasEnded && { sagasEnded: options.sagasEnded }),
      });
      if (failed.length > 0) {
        log.warn(
          { count: failed.length, cardIds: failed.slice(0, 50), deadlineSeconds: options.deadlineSeconds },
          'cards timed out: failed with TIMED_OUT',
        );
      }
    },
  }).start();
  return {
    job,
    async stop() {
      await job.stop();
      await cardChanged.close();
    },
  };
}
