import { EventType, type CardStatus, type TopicNames } from '@cards/contracts';
import type { Knex } from 'knex';

import type { LocalCard, ReconcileTransaction } from '../domain/reconcile';
import { markProviderCancelRequested } from './cards.repository';
import { appendOutbox } from './outbox.repository';

/** Any fixed 64-bit number, shared by every reconciliation of this database (the relay uses another). */
export const RECONCILIATION_LOCK_KEY = 7_345_002_119;

/** Ids per `IN (...)` list, well under PostgreSQL's bind-parameter limit. */
const CHUNK = 1000;

interface LocalCardRow {
  id: string;
  status: CardStatus;
  provider_card_id: string | null;
}

function toLocalCard(row: LocalCardRow): LocalCard {
  return { id: row.id, status: row.status, providerCardId: row.provider_card_id };
}

/** Our cards with these ids; ids that are no card are simply absent. */
export async function findCardsByIds(ids: readonly string[], db: Knex): Promise<LocalCard[]> {
  const cards: LocalCard[] = [];
  for (let start = 0; start < ids.length; start += CHUNK) {
    const rows = await db<LocalCardRow>('cards')
      .whereIn('id', ids.slice(start, start + CHUNK))
      .select('id', 'status', 'provider_card_id');
    cards.push(...rows.map(toLocalCard));
  }
  return cards;
}

/** Our ACTIVE cards created in [from, to). */
export async function listActiveCardsCreatedBetween(
  window: { from: Date; to: Date },
  db: Knex,
): Promise<LocalCard[]> {
  const rows = await db<LocalCardRow>('cards')
    .where('status', 'ACTIVE')
    .where('created_at', '>=', window.from)
    .where('created_at', '<', window.to)
    .select('id', 'status', 'provider_card_id');
  return rows.map(toLocalCard);
}

/** Tries the reconciliation lock for the rest of the transaction; never waits. */
export async function tryReconciliationLock(tx: Knex.Transaction): Promise<boolean> {
  const result = await tx.raw<{ rows: { locked: boolean }[] }>(
    /* sql */ 'SELECT pg_try_advisory_xact_lock(?) AS locked',
    [RECONCILIATION_LOCK_KEY],
  );
  return result.rows[0]?.locked === true;
}

/**
 * Of these provider cards, those a `card.cancel.requested` is in the outbox for, published or not (from the
 * compensation of a late success, or an earlier reconciliation), each with when the latest was written. Published
 * rows stay for OUTBOX_RETENTION_HOURS, which must outlast the domain's re-ask interval (config.ts checks).
 */
export async function lastCancelRequests(
  providerCardIds: readonly string[],
  db: Knex | Knex.Transaction,
): Promise<Map<string, Date>> {
  const found = new Map<string, Date>();
  for (let start = 0; start < providerCardIds.length; start += CHUNK) {
    const chunk = providerCardIds.slice(start, start + CHUNK);
    const result = await db.raw<{ rows: { provider_card_id: string; requested_at: Date }[] }>(
      /* sql */ `
        SELECT event -> 'data' ->> 'providerCardId' AS provider_card_id, max(created_at) AS requested_at
          FROM outbox
         WHERE type = ? AND event -> 'data' ->> 'providerCardId' = ANY(?::text[])
         GROUP BY 1
      `,
      [EventType.cancelRequested, chunk],
    );
    for (const row of result.rows) {
      found.set(row.provider_card_id, new Date(row.requested_at));
    }
  }
  return found;
}

/** The knex implementation of reconcile's transaction port. */
export function reconcileTransaction(db: Knex, topics: TopicNames) {
  return <T>(work: (tx: ReconcileTransaction) => Promise<T>): Promise<T> =>
    db.transaction((tx) =>
      work({
        tryLock: () => tryReconciliationLock(tx),
        lastCancelRequests: (providerCardIds) => lastCancelRequests(providerCardIds, tx),
        markProviderCancelRequested: (cardId, at) => markProviderCancelRequested(cardId, at, tx),
        appendOutbox: (events) => appendOutbox(events, topics, tx),
      }),
    );
}
