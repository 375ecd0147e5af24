import { EventCatalog, type AnyCardEvent, type TopicNames } from '@cards/contracts';
import type { Knex } from 'knex';

/** An outbox row waiting for the relay. */
export interface OutboxEntry {
  id: string;
  event: AnyCardEvent;
}

/** Appends events to the outbox, in the caller's transaction; the relay publishes them after commit. */
export async function appendOutbox(
  events: readonly AnyCardEvent[],
  topics: TopicNames,
  tx: Knex.Transaction,
): Promise<void> {
  if (events.length === 0) {
    return;
  }
  await tx('outbox').insert(
    events.map((event) => ({
      event_id: event.id,
      topic: topics[EventCatalog[event.type].topic],
      key: event.subject,
      type: event.type,
      event: JSON.stringify(event),
    })),
  );
}

/** The oldest unpublished rows, in commit-ish order (ids grow), so per-card order holds. */
export async function fetchUnpublished(limit: number, db: Knex): Promise<OutboxEntry[]> {
  const rows = await db('outbox')
    .whereNull('published_at')
    .orderBy('id')
    .limit(limit)
    .select<{ id: string; event: AnyCardEvent }[]>('id', 'event');
  return rows.map((row) => ({ id: row.id, event: row.event }));
}

/** Marks rows published. */
export async function markPublished(ids: readonly string[], db: Knex): Promise<void> {
  await db('outbox').whereIn('id', ids).update({ published_at: db.fn.now(), last_error: null });
}

/** Records a failed publish attempt, for operators (outbox status) and poison detection. */
export async function recordPublishFailure(ids: readonly string[], error: string, db: Knex): Promise<void> {
  await db('outbox')
    .whereIn('id', ids)
    .update({ attempts: db.raw('attempts + 1'), last_error: error.slice(0, 2000) });
}

/** Deletes published rows older than `before`; returns how many. */
export async function deletePublishedBefore(before: Date, db: Knex): Promise<number> {
  return db('outbox').whereNotNull('published_at').where('published_at', '<', before).delete();
}

/** Backlog size and the age of the oldest unpublished row. */
export async function outboxBacklog(db: Knex): Promise<{ pending: number; oldestCreatedAt: Date | null }> {
  const row = await db('outbox')
    .whereNull('published_at')
    .first<{ pending: string; oldest: Date | null } | undefined>(
      db.raw('count(*) AS pending'),
      db.raw('min(created_at) AS oldest'),
    );
  return { pending: Number(row?.pending ?? 0), oldestCreatedAt: row?.oldest ?? null };
}
