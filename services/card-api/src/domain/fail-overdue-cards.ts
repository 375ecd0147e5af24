import { FailureCode } from '@cards/contracts';

import type { SagaEnd } from './card';

/** A card the reaper failed, with the database's times of its request and of its failure. */
export interface TimedOutCard {
  id: string;
  requestedAt: Date;
  failedAt: Date;
}

/** The reaper's port: one guarded batch at a time, each its own transaction. */
export interface OverdueCardsStore {
  /**
   * Fails up to `limit` cards still PENDING more than `deadlineSeconds` after they were requested (a guarded
   * `... WHERE status = 'PENDING'` update that skips rows another replica holds) and returns them, committed.
   */
  failOverdue(batch: {
    deadlineSeconds: number;
    limit: number;
    failure: { code: FailureCode; message: string };
  }): Promise<TimedOutCard[]>;
}

export interface FailOverdueCardsDeps {
  store: OverdueCardsStore;
  /** Called after each committed batch: these cards changed (wakes long-polls; coalesced). */
  cardsChanged(cardIds: readonly string[]): void;
  /** Called after each committed batch: these sagas ended FAILED with TIMED_OUT (times them). */
  sagasEnded?: (sagas: readonly SagaEnd[]) => void;
  deadlineSeconds: number;
  /** Cards per transaction; small enough that a batch never holds many row locks for long. */
  batchSize?: number;
  /** Batches per run; whatever is left waits for the next run, so a huge backlog cannot delay a shutdown. */
  maxBatches?: number;
  /** Aborted at shutdown: the run stops between batches. */
  signal?: AbortSignal;
}

/** The failure message a timed-out card carries; names the deadline so a client knows what happened. */
export function deadlineMessage(deadlineSeconds: number): string {
  return `no provider result within the saga deadline of ${deadlineSeconds} s`;
}

/**
 * Every card reaches a terminal state (DESIGN.md): cards still PENDING past the saga deadline are failed with
 * TIMED_OUT. A provider success that arrives later is compensated by applyProvisioningResult (the provider card is
 * cancelled), so failing here can never leave an active provider card behind. Safe with several replicas: each
 * batch is a guarded update over rows no other replica has locked.
 */
export async function failOverdueCards(deps: FailOverdueCardsDeps): Promise<{ failed: string[] }> {
  const limit = deps.batchSize ?? 500;
  const maxBatches = deps.maxBatches ?? 20;
  const failure = { code: FailureCode.TIMED_OUT, message: deadlineMessage(deps.deadlineSeconds) };
  const failed: string[] = [];
  for (let batch = 0; batch < maxBatches && !deps.signal?.aborted; batch++) {
    const cards = await deps.store.failOverdue({ deadlineSeconds: deps.deadlineSeconds, limit, failure });
    if (cards.length > 0) {
      const ids = cards.map((card) => card.id);
      failed.push(...ids);
      deps.cardsChanged(ids);
      deps.sagasEnded?.(
        cards.map((card) => ({
          cardId: card.id,
          status: 'FAILED',
          failureCode: failure.code,
          requestedAt: card.requestedAt,
          endedAt: card.failedAt,
        })),
      );
    }
    if (cards.length < limit) {
      break;
    }
  }
  return { failed };
}
