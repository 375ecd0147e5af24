import { EventCatalog, type AnyCardEvent, type TopicNames } from '@cards/contracts';
import type { Knex } from 'knex';

import type { TimelineOutboxRow } from '../domain/card-timeline';

/** An outbox row waiting for the relay. */
export interface OutboxEntry {
  id: string;
  event: AnyCardEvent;
}

/** The outbox row of an event: its topic by type, keyed by its subject (the card), so per-card order holds. */
export function outboxRow(event: AnyCardEvent, topics: TopicNames) {
  return {
    event_id: event.id,
    topic: topics[EventCatalog[event.type].topic],
    key: event.subject,
    type: event.type,
    event: JSON.stringify(event),
  };
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
  await tx('outbox').insert(events.map((event) => outboxRow(event, topics)));
}

/**
 * The oldest unpublished rows in id order (so per-card order holds), leaving out `exclude`: the rows a pipelining
 * relay has in flight (being sent, or sent and being marked). Excluding ids rather than reading past the last one
 * matters: ids come from a sequence, so a row with a lower id can commit after a higher one was read, and a cursor
 * would skip it.
 */
export async function fetchUnpublished(
  limit: number,
  db: Knex,
  exclude: readonly string[] = [],
): Promise<OutboxEntry[]> {
  const result = await db.raw<{ rows: { id: string; event: AnyCardEvent }[] }>(
    /* sql */ `
    SELECT id, event
      FROM outbox
     WHERE published_at IS NULL
       AND id <> ALL(?::bigint[])
     ORDER BY id
     LIMIT ?
  `,
    [[...exclude], limit],
  );
  return result.rows.map((row) => ({ id: row.id, event: row.event }));
}

/** Marks rows published, in one statement whatever their number. */
export async function markPublished(ids: readonly string[], db: Knex): Promise<void> {
  await db.raw(
    /* sql */ `
    UPDATE outbox SET published_at = now(), last_error = NULL WHERE id = ANY(?::bigint[])
  `,
    [[...ids]],
  );
}

/** Records a failed publish attempt, for operators (outbox status) and poison detection. */
export async function recordPublishFailure(ids: readonly string[], error: string, db: Knex): Promise<void> {
  await db.raw(
    /* sql */ `
    UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE id = ANY(?::bigint[])
  `,
    [error.slice(0, 2000), [...ids]],
  );
}

/** Deletes published rows older than `before`; returns how many. */
export async function deletePublishedBefore(before: Date, db: Knex): Promise<number> {
  return db('outbox').whereNotNull('published_at').where('published_at', '<', before).delete();
}

/**
 * Backlog size, the oldest unpublished row (when it was written, and its age by the database's clock) and how many
 * unpublished rows failed their last publish attempt: one query, for the metrics and for `outbox status`.
 */
export async function outboxBacklog(db: Knex): Promise<{
  pending: number;
  oldestCreatedAt: Date | null;
  oldestAgeSeconds: number;
  failing: number;
}> {
  const row = await db('outbox')
    .whereNull('published_at')
    .first<{ pending: string; oldest: Date | null; oldest_age: string | null; failing: string } | undefined>(
      db.raw('count(*) AS pending'),
      db.raw('min(created_at) AS oldest'),
      db.raw(/* sql */ 'extract(epoch FROM now() - min(created_at)) AS oldest_age'),
      db.raw(/* sql */ 'count(*) FILTER (WHERE last_error IS NOT NULL) AS failing'),
    );
  return {
    pending: Number(row?.pending ?? 0),
    oldestCreatedAt: row?.oldest ?? null,
    oldestAgeSeconds: Math.max(0, Number(row?.oldest_age ?? 0)),
    failing: Number(row?.failing ?? 0),
  };
}

/** What `outbox status` shows of the outbox; ages are measured by the database's clock, not the caller's. */
export interface OutboxStatusFigures {
  /** Unpublished rows. */
  pending: number;
  oldestCreatedAt: Date | null;
  oldestAgeSeconds: number | null;
  /** Unpublished rows whose last publish attempt failed (a published row has its error cleared). */
  failing: number;
  /** The first failing row in the relay's order: the one it is retrying now, with the latest error. */
  firstFailing: {
    id: string;
    type: string;
    key: string;
    attempts: number;
    lastError: string;
    createdAt: Date;
  } | null;
  publishedLastMinute: number;
}

/** Backlog, failures and recent throughput of the outbox, each from an index (for operators). */
export async function outboxStatusFigures(db: Knex): Promise<OutboxStatusFigures> {
  const backlog = await outboxBacklog(db);
  const first = await db.raw<{
    rows: { id: string; type: string; key: string; attempts: number; last_error: string; created_at: Date }[];
  }>(/* sql */ `
    SELECT id, type, key, attempts, last_error, created_at
      FROM outbox
     WHERE published_at IS NULL AND last_error IS NOT NULL
     ORDER BY id
     LIMIT 1
  `);
  const recent = await db.raw<{ rows: { published: string }[] }>(/* sql */ `
    SELECT count(*) AS published FROM outbox WHERE published_at > now() - interval '1 minute'
  `);
  const failing = first.rows[0];
  return {
    pending: backlog.pending,
    oldestCreatedAt: backlog.oldestCreatedAt,
    // No unpublished row has no age (the metric reads 0 then; an operator reads "none").
    oldestAgeSeconds: backlog.oldestCreatedAt === null ? null : backlog.oldestAgeSeconds,
    failing: backlog.failing,
    firstFailing: failing
      ? {
          id: failing.id,
          type: failing.type,
          key: failing.key,
          attempts: failing.attempts,
          lastError: failing.last_error,
          createdAt: failing.created_at,
        }
      : null,
    publishedLastMinute: Number(recent.rows[0]?.published ?? 0),
  };
}

/** A database session holding an advisory lock. */
export interface AdvisoryLockHolder {
  pid: number;
  applicationName: string | null;
  clientAddr: string | null;
  backendStart: Date | null;
  state: string | null;
}

/**
 * The session holding the session-level advisory lock `key` (as taken by `pg_advisory_lock(bigint)`) in this
 * database, if any. PostgreSQL shows a bigint key in pg_locks split in two: classid the high 32 bits, objid the low
 * 32 bits, objsubid 1. Another database's locks with the same key are not ours (test databases share a server).
 */
export async function findAdvisoryLockHolder(key: number, db: Knex): Promise<AdvisoryLockHolder | undefined> {
  const result = await db.raw<{
    rows: {
      pid: number;
      application_name: string | null;
      client_addr: string | null;
      backend_start: Date | null;
      state: string | null;
    }[];
  }>(
    /* sql */ `
    SELECT l.pid, a.application_name, host(a.client_addr) AS client_addr, a.backend_start, a.state
      FROM pg_locks l
      LEFT JOIN pg_stat_activity a ON a.pid = l.pid
     WHERE l.locktype = 'advisory'
       AND l.granted
       AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
       AND l.classid::bigint = ?
       AND l.objid::bigint = ?
       AND l.objsubid = 1
     LIMIT 1
  `,
    [String((BigInt(key) >> 32n) & 0xffffffffn), String(BigInt(key) & 0xffffffffn)],
  );
  const row = result.rows[0];
  return (
    row && {
      pid: row.pid,
      applicationName: row.application_name,
      clientAddr: row.client_addr,
      backendStart: row.backend_start,
      state: row.state,
    }
  );
}

/** One outbox row of a card, for its saga timeline. */
export type OutboxHistoryEntry = TimelineOutboxRow;

/**
 * The outbox rows of one key (a card id), oldest first. Published rows are kept OUTBOX_RETENTION_HOURS only. No
 * index covers the key: a scan of the outbox (its retention's worth of rows) is fine for an operator's command.
 */
export async function listOutboxByKey(key: string, db: Knex): Promise<OutboxHistoryEntry[]> {
  const rows = await db('outbox').where({ key }).orderBy('id').select<
    {
      id: string;
      event_id: string;
      topic: string;
      type: string;
      created_at: Date;
      published_at: Date | null;
      attempts: number;
      last_error: string | null;
    }[]
  >('id', 'event_id', 'topic', 'type', 'created_at', 'published_at', 'attempts', 'last_error');
  return rows.map((row) => ({
    id: row.id,
    eventId: row.event_id,
    topic: row.topic,
    type: row.type,
    createdAt: row.created_at,
    publishedAt: row.published_at,
    attempts: row.attempts,
    lastError: row.last_error,
  }));
}
