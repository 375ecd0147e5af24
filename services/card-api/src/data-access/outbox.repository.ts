import { EventCatalog, type AnyCardEvent, type TopicNames } from '@cards/contracts';
import type { Knex } from 'knex';
import type { ClientBase } from 'pg';

import type { TimelineOutboxRow } from '../domain/card-timeline';
import { Channels } from './notifications';

/** An outbox row waiting for the relay. */
export interface OutboxEntry {
  id: string;
  key: string;
  /** As stored; the relay checks it against the contract before sending it. */
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
 * The relay's own database session: the one holding its advisory lock. Every read and mark of the relay goes
 * through it, so a relay whose session (and so whose lock) is gone can neither read nor mark any more: a standby
 * that took the lock over is then the only relay at work (fencing).
 */
export type RelaySession = Pick<ClientBase, 'query'>;

/**
 * The oldest publishable rows in id order (so per-card order holds), leaving out `exclude`: the rows a pipelining
 * relay has in flight (being sent, or sent and being marked). Excluding ids rather than reading past the last one
 * matters: ids come from a sequence, so a row with a lower id can commit after a higher one was read, and a cursor
 * would skip it. A quarantined row is left out, and so is every later row of its key, which waits behind it.
 */
export async function fetchUnpublished(
  limit: number,
  session: RelaySession,
  exclude: readonly string[] = [],
): Promise<OutboxEntry[]> {
  const result = await session.query<{ id: string; key: string; event: unknown }>(
    /* sql */ `
    SELECT o.id, o.key, o.event
      FROM outbox o
     WHERE o.published_at IS NULL
       AND o.quarantined_at IS NULL
       AND o.id <> ALL($1::bigint[])
       AND NOT EXISTS (
             SELECT 1 FROM outbox q
              WHERE q.key = o.key AND q.id < o.id AND q.quarantined_at IS NOT NULL AND q.published_at IS NULL)
     ORDER BY o.id
     LIMIT $2
  `,
    [[...exclude], limit],
  );
  return result.rows.map((row) => ({ id: row.id, key: row.key, event: row.event as AnyCardEvent }));
}

/** Marks rows published, in one statement whatever their number. */
export async function markPublished(ids: readonly string[], session: RelaySession): Promise<void> {
  await session.query(
    /* sql */ `UPDATE outbox SET published_at = now(), last_error = NULL WHERE id = ANY($1::bigint[])`,
    [[...ids]],
  );
}

/**
 * Notes why a send failed while Kafka was unavailable, for operators (`outbox status`). Not counted as an attempt:
 * an outage is nobody's row's fault, and must never quarantine one.
 */
export async function recordPublishOutage(
  ids: readonly string[],
  error: string,
  session: RelaySession,
): Promise<void> {
  await session.query(/* sql */ `UPDATE outbox SET last_error = $1 WHERE id = ANY($2::bigint[])`, [
    error.slice(0, 2000),
    [...ids],
  ]);
}

/**
 * Counts a failed attempt of one row sent alone (so the failure is its own) and quarantines it once it has failed
 * `quarantineAfter` times. Returns whether it is quarantined now.
 */
export async function recordRowFailure(
  id: string,
  error: string,
  quarantineAfter: number,
  session: RelaySession,
): Promise<boolean> {
  const result = await session.query<{ quarantined: boolean }>(
    /* sql */ `
    UPDATE outbox
       SET attempts = attempts + 1,
           last_error = $2,
           quarantined_at = CASE WHEN attempts + 1 >= $3 THEN now() END
     WHERE id = $1
    RETURNING quarantined_at IS NOT NULL AS quarantined
  `,
    [id, error.slice(0, 2000), quarantineAfter],
  );
  return result.rows[0]?.quarantined ?? false;
}

/** Quarantines a row at once (its event can never be published as it is), with the reason. */
export async function quarantineRow(id: string, reason: string, session: RelaySession): Promise<void> {
  await session.query(/* sql */ `UPDATE outbox SET quarantined_at = now(), last_error = $2 WHERE id = $1`, [
    id,
    reason.slice(0, 2000),
  ]);
}

/** A quarantined outbox row, as an operator inspects it. */
export interface QuarantinedRow {
  id: string;
  eventId: string;
  topic: string;
  key: string;
  type: string;
  attempts: number;
  lastError: string | null;
  createdAt: Date;
  quarantinedAt: Date;
  event: unknown;
  /** Later unpublished rows of the same key, waiting behind this one. */
  waitingBehind: number;
}

/** Quarantined rows, oldest first (at most `limit`), or the one with `id`. */
export async function listQuarantined(
  db: Knex,
  options: { limit?: number; id?: string } = {},
): Promise<QuarantinedRow[]> {
  const result = await db.raw<{
    rows: {
      id: string;
      event_id: string;
      topic: string;
      key: string;
      type: string;
      attempts: number;
      last_error: string | null;
      created_at: Date;
      quarantined_at: Date;
      event: unknown;
      waiting_behind: string;
    }[];
  }>(
    /* sql */ `
    SELECT q.id, q.event_id, q.topic, q.key, q.type, q.attempts, q.last_error, q.created_at, q.quarantined_at,
           q.event,
           (SELECT count(*) FROM outbox w
             WHERE w.key = q.key AND w.id > q.id AND w.published_at IS NULL) AS waiting_behind
      FROM outbox q
     WHERE q.quarantined_at IS NOT NULL AND q.published_at IS NULL
       AND (?::bigint IS NULL OR q.id = ?::bigint)
     ORDER BY q.id
     LIMIT ?
  `,
    [options.id ?? null, options.id ?? null, options.limit ?? 100],
  );
  return result.rows.map((row) => ({
    id: row.id,
    eventId: row.event_id,
    topic: row.topic,
    key: row.key,
    type: row.type,
    attempts: row.attempts,
    lastError: row.last_error,
    createdAt: row.created_at,
    quarantinedAt: row.quarantined_at,
    event: row.event,
    waitingBehind: Number(row.waiting_behind),
  }));
}

/**
 * Releases a quarantined row for the relay to try again, with its attempts reset and, when given, its event
 * replaced by an operator's fix (already checked against the contract by the caller), in the caller's transaction
 * (with its audit row); wakes the relay on commit. False when no quarantined, unpublished row has this id.
 */
export async function releaseQuarantined(
  id: string,
  replacement: AnyCardEvent | undefined,
  tx: Knex.Transaction,
): Promise<boolean> {
  const result = await tx.raw<{ rows: unknown[] }>(
    /* sql */ `
    UPDATE outbox
       SET quarantined_at = NULL, attempts = 0, last_error = NULL, event = coalesce(?::jsonb, event)
     WHERE id = ? AND quarantined_at IS NOT NULL AND published_at IS NULL
    RETURNING id
  `,
    [replacement === undefined ? null : JSON.stringify(replacement), id],
  );
  if (result.rows.length === 0) {
    return false;
  }
  await tx.raw(/* sql */ 'SELECT pg_notify(?, ?)', [Channels.outbox, '']);
  return true;
}

/** One quarantined row by id (to check an operator's fix against the original), or none. */
export async function findQuarantined(id: string, db: Knex): Promise<QuarantinedRow | undefined> {
  const [row] = await listQuarantined(db, { id, limit: 1 });
  return row;
}

/** Deletes published rows older than `before`; returns how many. */
export async function deletePublishedBefore(before: Date, db: Knex): Promise<number> {
  return db('outbox').whereNotNull('published_at').where('published_at', '<', before).delete();
}

/**
 * Backlog size, the oldest unpublished row (when it was written, and its age by the database's clock), how many
 * unpublished rows failed their last publish attempt and how many are quarantined: one query, for the metrics and
 * for `outbox status`. Quarantined rows are counted apart, not in the backlog: they wait for an operator, and their
 * age would otherwise hold the backlog-age alert on for ever.
 */
export async function outboxBacklog(db: Knex): Promise<{
  pending: number;
  oldestCreatedAt: Date | null;
  oldestAgeSeconds: number;
  failing: number;
  quarantined: number;
}> {
  const row = await db('outbox').whereNull('published_at').first<
    | {
        pending: string;
        oldest: Date | null;
        oldest_age: string | null;
        failing: string;
        quarantined: string;
      }
    | undefined
  >(db.raw(/* sql */ 'count(*) FILTER (WHERE quarantined_at IS NULL) AS pending'), db.raw(/* sql */ 'min(created_at) FILTER (WHERE quarantined_at IS NULL) AS oldest'), db.raw(/* sql */ 'extract(epoch FROM now() - min(created_at) FILTER (WHERE quarantined_at IS NULL)) AS oldest_age'), db.raw(/* sql */ 'count(*) FILTER (WHERE last_error IS NOT NULL AND quarantined_at IS NULL) AS failing'), db.raw(/* sql */ 'count(*) FILTER (WHERE quarantined_at IS NOT NULL) AS quarantined'));
  return {
    pending: Number(row?.pending ?? 0),
    oldestCreatedAt: row?.oldest ?? null,
    oldestAgeSeconds: Math.max(0, Number(row?.oldest_age ?? 0)),
    failing: Number(row?.failing ?? 0),
    quarantined: Number(row?.quarantined ?? 0),
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
  /** Rows set aside until an operator releases them (`outbox quarantined`). */
  quarantined: number;
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
     WHERE published_at IS NULL AND last_error IS NOT NULL AND quarantined_at IS NULL
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
    quarantined: backlog.quarantined,
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
