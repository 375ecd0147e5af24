import type { Knex } from 'knex';

import type { OverdueCardsStore, TimedOutCard } from '../domain/fail-overdue-cards';

/**
 * Fails one batch of cards still PENDING `deadlineSeconds` after their creation, in one statement (its own
 * transaction), and returns them with their request and failure times. `FOR UPDATE SKIP LOCKED` lets several
 * card-api replicas reap side by side without waiting on each other; the outer `status = 'PENDING'` guard keeps the
 * transition a guarded one whatever happened between the scan and the update. The database clock decides, so replicas with skewed clocks agree.
 */
export async function failOverduePendingCards(
  batch: { deadlineSeconds: number; limit: number; failure: { code: string; message: string } },
  db: Knex,
): Promise<TimedOutCard[]> {
  const result = await db.raw<{ rows: { id: string; created_at: Date; failed_at: Date }[] }>(
    /* sql */ `
      UPDATE cards
         SET status = 'FAILED', failure_code = ?, failure_message = ?, failed_at = now(), updated_at = now()
       WHERE status = 'PENDING'
         AND id IN (
           SELECT id FROM cards
            WHERE status = 'PENDING' AND created_at < now() - make_interval(secs => ?)
            ORDER BY created_at
            LIMIT ?
            FOR UPDATE SKIP LOCKED)
      RETURNING id, created_at, failed_at
    `,
    [batch.failure.code, batch.failure.message.slice(0, 1000), batch.deadlineSeconds, batch.limit],
  );
  return result.rows.map((row) => ({ id: row.id, requestedAt: row.created_at, failedAt: row.failed_at }));
}

/** The knex implementation of the reaper's port. */
export function overdueCardsStore(db: Knex): OverdueCardsStore {
  return { failOverdue: (batch) => failOverduePendingCards(batch, db) };
}
