import type { Knex } from 'knex';

import type { AuditEntry, AuditLog } from '../domain/audit';

/** An operator action, as the audit log records it. */
export interface AuditRecord {
  id: string;
  at: Date;
  actorUserId: string | null;
  actorExternalId: string;
  action: string;
  target: string | null;
  requestId: string | null;
  details: Record<string, unknown>;
}

interface AuditRow {
  id: string;
  at: Date;
  actor_user_id: string | null;
  actor_external_id: string;
  action: string;
  target: string | null;
  request_id: string | null;
  details: Record<string, unknown>;
}

/**
 * Appends one row to the audit log, in the caller's transaction when given one. The log is append-only: nothing in
 * the code updates or deletes it, and a trigger refuses both.
 */
export async function appendAudit(entry: AuditEntry, db: Knex | Knex.Transaction): Promise<void> {
  await db('audit_log').insert({
    actor_user_id: entry.actorUserId,
    actor_external_id: entry.actorExternalId,
    action: entry.action,
    target: entry.target,
    request_id: entry.requestId,
    details: JSON.stringify(entry.details),
  });
}

/** The audit log port over `db` (a transaction, to commit the row with the change it records). */
export function auditLog(db: Knex | Knex.Transaction): AuditLog {
  return { append: (entry) => appendAudit(entry, db) };
}

/** Audit rows newest first (by id, which grows with time), before id `before`; one extra row tells if more exist. */
export async function listAudit(
  options: { limit: number; before?: string | undefined },
  db: Knex,
): Promise<{ entries: AuditRecord[]; hasMore: boolean }> {
  const query = db<AuditRow>('audit_log')
    .orderBy('id', 'desc')
    .limit(options.limit + 1);
  if (options.before !== undefined) {
    void query.where('id', '<', options.before);
  }
  const rows = await query;
  return {
    entries: rows.slice(0, options.limit).map((row) => ({
      id: row.id,
      at: row.at,
      actorUserId: row.actor_user_id,
      actorExternalId: row.actor_external_id,
      action: row.action,
      target: row.target,
      requestId: row.request_id,
      details: row.details,
    })),
    hasMore: rows.length > options.limit,
  };
}
