import type { Knex } from 'knex';

/** An HTTP answer as recorded for replay. */
export interface RecordedResponse {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

/** Identifies one claim of a key: the user's key, and the Location its request reserved (see claimIdempotencyKey). */
export interface IdempotencyClaim {
  userId: string;
  key: string;
  reservedLocation: string;
}

/** A key as a later request with the same key finds it; `expired` and `stale` are judged by the database clock. */
export type IdempotencyKeyState =
  | { status: 'COMPLETED'; requestHash: string; expired: boolean; response: RecordedResponse }
  | {
      status: 'IN_PROGRESS';
      requestHash: string;
      expired: boolean;
      stale: boolean;
      reservedLocation: string;
    };

interface IdempotencyKeyRow {
  request_hash: string;
  status: 'IN_PROGRESS' | 'COMPLETED';
  response_status: number | null;
  response_body: unknown;
  response_headers: Record<string, string> | null;
  expired: boolean;
  stale: boolean;
}

/**
 * Claims a key for a request, in its own short statement: inserts it IN_PROGRESS, or replaces it when the row there
 * is older than the TTL (an expired key is a new key). False when a live row holds the key.
 *
 * While IN_PROGRESS, `response_headers` holds `{ Location }`: the resource the request reserved. It identifies the
 * claim (completing or releasing touches only the row of that claim), and lets a later request find out whether a
 * crashed predecessor did create the resource before it could record its answer.
 */
export async function claimIdempotencyKey(
  claim: IdempotencyClaim & { requestHash: string },
  ttlHours: number,
  db: Knex,
): Promise<boolean> {
  const result = await db.raw<{ rows: unknown[] }>(
    /* sql */ `
    INSERT INTO idempotency_keys AS k (user_id, key, request_hash, status, response_headers)
    VALUES (?, ?, ?, 'IN_PROGRESS', ?::jsonb)
    ON CONFLICT (user_id, key) DO UPDATE SET
      request_hash = EXCLUDED.request_hash,
      status = 'IN_PROGRESS',
      response_status = NULL,
      response_body = NULL,
      response_headers = EXCLUDED.response_headers,
      created_at = now(),
      completed_at = NULL
    WHERE k.created_at < now() - make_interval(hours => ?)
    RETURNING 1`,
    [
      claim.userId,
      claim.key,
      claim.requestHash,
      JSON.stringify({ Location: claim.reservedLocation }),
      ttlHours,
    ],
  );
  return result.rows.length === 1;
}

/** The key's row, if any; `stale` means IN_PROGRESS for longer than `staleAfterSeconds` (its process likely died). */
export async function findIdempotencyKey(
  lookup: { userId: string; key: string },
  limits: { ttlHours: number; staleAfterSeconds: number },
  db: Knex,
): Promise<IdempotencyKeyState | undefined> {
  const result = await db.raw<{ rows: IdempotencyKeyRow[] }>(
    /* sql */ `
    SELECT request_hash, status, response_status, response_body, response_headers,
           created_at < now() - make_interval(hours => ?) AS expired,
           created_at < now() - make_interval(secs => ?) AS stale
      FROM idempotency_keys
     WHERE user_id = ? AND key = ?`,
    [limits.ttlHours, limits.staleAfterSeconds, lookup.userId, lookup.key],
  );
  const row = result.rows[0];
  if (!row) {
    return undefined;
  }
  if (row.status === 'COMPLETED') {
    return {
      status: 'COMPLETED',
      requestHash: row.request_hash,
      expired: row.expired,
      response: {
        status: row.response_status ?? 500,
        headers: row.response_headers ?? {},
        body: row.response_body,
      },
    };
  }
  return {
    status: 'IN_PROGRESS',
    requestHash: row.request_hash,
    expired: row.expired,
    stale: row.stale,
    reservedLocation: row.response_headers?.['Location'] ?? '',
  };
}

/**
 * Takes over a stale IN_PROGRESS claim (its process is presumed dead), keeping its reservation; restarts its clock.
 * False when the claim is no longer stale and IN_PROGRESS: another request took it over or it completed.
 * Under READ COMMITTED two takers serialise on the row lock, and the second re-checks the WHERE on the new row.
 */
export async function takeOverStaleIdempotencyKey(
  claim: IdempotencyClaim,
  staleAfterSeconds: number,
  db: Knex,
): Promise<boolean> {
  const updated = await db('idempotency_keys')
    .where({ user_id: claim.userId, key: claim.key, status: 'IN_PROGRESS' })
    .whereRaw(/* sql */ "response_headers->>'Location' = ?", [claim.reservedLocation])
    .whereRaw(/* sql */ 'created_at < now() - make_interval(secs => ?)', [staleAfterSeconds])
    .update({ created_at: db.fn.now() });
  return updated === 1;
}

/** Records the answer of a claim; false when the claim is gone (released, or taken over by a new claim). */
export async function completeIdempotencyKey(
  claim: IdempotencyClaim,
  response: RecordedResponse,
  db: Knex | Knex.Transaction,
): Promise<boolean> {
  const updated = await db('idempotency_keys')
    .where({ user_id: claim.userId, key: claim.key, status: 'IN_PROGRESS' })
    .whereRaw(/* sql */ "response_headers->>'Location' = ?", [claim.reservedLocation])
    .update({
      status: 'COMPLETED',
      response_status: response.status,
      response_body: JSON.stringify(response.body),
      response_headers: JSON.stringify(response.headers),
      completed_at: db.fn.now(),
    });
  return updated === 1;
}

/** Forgets a claim whose request failed (5xx), so the client may retry with the same key. */
export async function releaseIdempotencyKey(claim: IdempotencyClaim, db: Knex): Promise<void> {
  await db('idempotency_keys')
    .where({ user_id: claim.userId, key: claim.key, status: 'IN_PROGRESS' })
    .whereRaw(/* sql */ "response_headers->>'Location' = ?", [claim.reservedLocation])
    .delete();
}

/** Rows deleted per statement by the purge, so one run never holds many row locks or a long transaction. */
const PURGE_BATCH_SIZE = 1000;

/**
 * Deletes keys older than the TTL (whatever their status), in batches; returns how many. Safe to run from every
 * replica at once: a row is deleted once, and a request that meets an expired row treats it as new anyway.
 */
export async function purgeExpiredIdempotencyKeys(db: Knex, ttlHours: number): Promise<number> {
  let total = 0;
  for (;;) {
    const result = await db.raw<{ rowCount: number | null }>(
      /* sql */ `
      DELETE FROM idempotency_keys
       WHERE (user_id, key) IN (
         SELECT user_id, key FROM idempotency_keys
          WHERE created_at < now() - make_interval(hours => ?)
          LIMIT ?
            FOR UPDATE SKIP LOCKED)`,
      [ttlHours, PURGE_BATCH_SIZE],
    );
    const deleted = result.rowCount ?? 0;
    total += deleted;
    if (deleted < PURGE_BATCH_SIZE) {
      return total;
    }
  }
}

/**
 * The Idempotency-Key table as the HTTP edge's wrapper (entry-points/http/idempotency.ts) uses it: each method one
 * short statement of its own, outside the request's transaction.
 */
export interface IdempotencyStore {
  claim(claim: IdempotencyClaim & { requestHash: string }, ttlHours: number): Promise<boolean>;
  find(
    lookup: { userId: string; key: string },
    limits: { ttlHours: number; staleAfterSeconds: number },
  ): Promise<IdempotencyKeyState | undefined>;
  takeOverStale(claim: IdempotencyClaim, staleAfterSeconds: number): Promise<boolean>;
  complete(claim: IdempotencyClaim, response: RecordedResponse): Promise<boolean>;
  release(claim: IdempotencyClaim): Promise<void>;
}

/** The Idempotency-Key store over `db`. */
export function idempotencyStore(db: Knex): IdempotencyStore {
  return {
    claim: (claim, ttlHours) => claimIdempotencyKey(claim, ttlHours, db),
    find: (lookup, limits) => findIdempotencyKey(lookup, limits, db),
    takeOverStale: (claim, staleAfterSeconds) => takeOverStaleIdempotencyKey(claim, staleAfterSeconds, db),
    complete: (claim, response) => completeIdempotencyKey(claim, response, db),
    release: (claim) => releaseIdempotencyKey(claim, db),
  };
}
