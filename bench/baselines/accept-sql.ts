/**
 * The SQL card-api runs to accept a card, in one place, for both accept baselines (the bare node:http + pg server
 * and pgbench) and the synchronous design, so that they follow card-api when its SQL changes. Where it comes from,
 * first found wins:
 *
 * 1. card-api's built data access (services/card-api/dist/data-access/cards.repository.js) exporting
 *    `ACCEPT_CARD_SQL`: `{ text, parameters }`, one statement whose $n parameters are named by `parameters` from
 *    the roles below (e.g. `['userId', 'cardId', 'color', 'eventId', 'topic', 'event']`);
 * 2. a function in the database named create_card_if_allowed (card-api's since migration 005), accept_card or
 *    request_card, called with named arguments, each argument's name (without a `p_` or `_` prefix) being one of the
 *    roles below in snake case; sent as a named prepared statement, as card-api sends it;
 * 3. otherwise, card-api's statements as of 2026-12-04 before migration 005 (cards.repository.ts): the user looked up
 *    by the token's subject (auth), then one transaction: lock the user (returning the time), count their cards,
 *    insert the card and its outbox row in one statement. The per-user rate limit (rate-limiter-flexible's own
 *    upsert, then) is left out of this one.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

import type pg from 'pg';

/** What a statement's parameter may stand for. */
export type Role =
  | 'userId'
  | 'externalId'
  | 'cardId'
  | 'eventId'
  | 'color'
  | 'topic'
  | 'event'
  | 'correlationId'
  | 'createdAt'
  | 'cardLimit'
  | 'eventType'
  | 'rateKey'
  | 'ratePoints'
  | 'rateWindowMs';

const ROLES: Record<string, Role> = {
  user_id: 'userId',
  userid: 'userId',
  external_id: 'externalId',
  externalid: 'externalId',
  sub: 'externalId',
  subject: 'externalId',
  card_id: 'cardId',
  cardid: 'cardId',
  id: 'cardId',
  event_id: 'eventId',
  eventid: 'eventId',
  color: 'color',
  topic: 'topic',
  event: 'event',
  payload: 'event',
  correlation_id: 'correlationId',
  correlationid: 'correlationId',
  created_at: 'createdAt',
  createdat: 'createdAt',
  card_limit: 'cardLimit',
  cardlimit: 'cardLimit',
  limit_per_user: 'cardLimit',
  event_type: 'eventType',
  rate_key: 'rateKey',
  rate_points: 'ratePoints',
  rate_window_ms: 'rateWindowMs',
};

/** The accept SQL in effect, and where it came from (the report states it). */
export type AcceptSql =
  | { source: string; kind: 'statement'; text: string; parameters: Role[] }
  | { source: 'card-api as of 2026-12-04 (lock, count, insert card + outbox)'; kind: 'fallback' };

/** The limits card-api runs with in the benchmark (lib/stack.ts: CARD_LIMIT_PER_USER, RATE_LIMIT_*; config.ts). */
export const BENCH_CARD_LIMIT = 1000;
const BENCH_RATE_POINTS = 1_000_000;
const RATE_WINDOW_MS = 60_000;
/** card-api's per-user rate-limit key prefix (cards.repository.ts). */
const RATE_KEY_PREFIX = 'cards:create:user:';

const FALLBACK = {
  lookup: /* sql */ 'SELECT id FROM users WHERE external_id = $1 LIMIT 1',
  lock: /* sql */ 'SELECT now()::timestamptz(3) AS now FROM users WHERE id = $1 FOR UPDATE',
  count: /* sql */ `SELECT count(*) AS count FROM cards WHERE user_id = $1 AND NOT status = 'FAILED'`,
  insert: /* sql */ `WITH card AS (INSERT INTO cards (id, user_id, color, correlation_id, created_at)
                                   VALUES ($1, $2, $3, $4, $5) RETURNING *),
                          outbox AS (INSERT INTO outbox (event_id, topic, key, type, event)
                                     VALUES ($6, $7, $8, $9, $10))
                     SELECT * FROM card`,
};

function roleOf(name: string): Role | undefined {
  return ROLES[name.toLowerCase().replace(/^(p_|_)/, '')];
}

/** Finds the accept SQL card-api runs (see the file's comment); `root` is the repository root. */
export async function resolveAcceptSql(root: string, pool: pg.Pool): Promise<AcceptSql> {
  const built = path.join(root, 'services/card-api/dist/data-access/cards.repository.js');
  // Required only when it exports the statement: loading card-api's modules may change pg's global type parsers.
  if (existsSync(built) && readFileSync(built, 'utf8').includes('ACCEPT_CARD_SQL')) {
    try {
      const exported = (createRequire(import.meta.url)(built) as { ACCEPT_CARD_SQL?: unknown })
        .ACCEPT_CARD_SQL;
      if (
        typeof exported === 'object' &&
        exported !== null &&
        'text' in exported &&
        'parameters' in exported &&
        typeof exported.text === 'string' &&
        Array.isArray(exported.parameters) &&
        exported.parameters.every((role) => Object.values(ROLES).includes(role as Role))
      ) {
        return {
          source: 'card-api ACCEPT_CARD_SQL',
          kind: 'statement',
          text: exported.text,
          parameters: exported.parameters as Role[],
        };
      }
    } catch {
      // a module that does not load here is no source
    }
  }
  const functions = await pool.query<{
    name: string;
    args: string[] | null;
    nargs: number | string;
  }>(/* sql */ `SELECT p.oid::regproc::text AS name, p.proargnames AS args, p.pronargs AS nargs
               FROM pg_proc p
               WHERE p.proname IN ('create_card_if_allowed', 'accept_card', 'request_card')
                 AND pg_function_is_visible(p.oid)
               ORDER BY p.proname = 'create_card_if_allowed' DESC`);
  for (const fn of functions.rows) {
    const nargs = Number(fn.nargs);
    const names = (fn.args ?? []).slice(0, nargs);
    const roles = names.map(roleOf);
    if (names.length === nargs && roles.every((role) => role !== undefined)) {
      const list = names.map((name, index) => `${name} => $${index + 1}`).join(', ');
      return {
        source: `database function ${fn.name}`,
        kind: 'statement',
        text: /* sql */ `SELECT * FROM ${fn.name}(${list})`,
        parameters: roles,
      };
    }
  }
  return { source: 'card-api as of 2026-12-04 (lock, count, insert card + outbox)', kind: 'fallback' };
}

/** A card request as a baseline sees it. */
export interface AcceptInput {
  userId: string;
  externalId: string;
  color: string;
  topic: string;
}

/** The card.provision.requested event as requestCard writes it. */
function provisionEvent(
  eventId: string,
  cardId: string,
  userId: string,
  color: string,
  createdAt: Date,
): object {
  return {
    id: eventId,
    type: 'card.provision.requested',
    source: 'card-api',
    time: new Date().toISOString(),
    subject: cardId,
    data: { cardId, color, cardholderRef: userId, requestedAt: createdAt.toISOString() },
  };
}

/** Runs the accept SQL once on `pool`; resolves with the card's and user's ids, or rejects (409 on the card limit). */
export async function acceptCard(
  sql: AcceptSql,
  pool: pg.Pool,
  input: AcceptInput,
): Promise<{ id: string; userId: string }> {
  const cardId = randomUUID();
  const eventId = randomUUID();
  if (sql.kind === 'statement') {
    const now = new Date();
    // Unless the statement takes the token's subject itself, the user is looked up first, as auth does.
    const userId = sql.parameters.includes('externalId')
      ? input.userId
      : ((await pool.query<{ id: string }>(FALLBACK.lookup, [input.externalId])).rows[0]?.id ?? input.userId);
    const value: Record<Role, unknown> = {
      userId,
      externalId: input.externalId,
      cardId,
      eventId,
      color: input.color,
      topic: input.topic,
      event: JSON.stringify(provisionEvent(eventId, cardId, userId, input.color, now)),
      correlationId: null,
      createdAt: now,
      cardLimit: BENCH_CARD_LIMIT,
      eventType: 'card.provision.requested',
      rateKey: `${RATE_KEY_PREFIX}${userId}`,
      ratePoints: BENCH_RATE_POINTS,
      rateWindowMs: RATE_WINDOW_MS,
    };
    // A named prepared statement: parsed and planned once per connection, as card-api sends it.
    const result = await pool.query<{ user_id?: unknown; outcome?: unknown }>({
      name: 'bench_accept_card',
      text: sql.text,
      values: sql.parameters.map((role) => value[role]),
    });
    const outcome = result.rows[0]?.outcome;
    if (typeof outcome === 'string' && outcome !== 'CREATED') {
      throw Object.assign(new Error(`accept SQL answered ${outcome}`), { status: 409 });
    }
    const stored = result.rows[0]?.user_id;
    return { id: cardId, userId: typeof stored === 'string' ? stored : userId };
  }
  // The token's subject to the user, as the auth middleware does on a cache miss (its own checkout, autocommit).
  const found = await pool.query<{ id: string }>(FALLBACK.lookup, [input.externalId]);
  const userId = found.rows[0]?.id ?? input.userId;
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const locked = await client.query<{ now: Date }>(FALLBACK.lock, [userId]);
    const createdAt = locked.rows[0]?.now ?? new Date();
    const counted = await client.query<{ count: string }>(FALLBACK.count, [userId]);
    if (Number(counted.rows[0]?.count ?? 0) >= BENCH_CARD_LIMIT) {
      throw Object.assign(new Error('card limit reached'), { status: 409 });
    }
    const event = provisionEvent(eventId, cardId, userId, input.color, createdAt);
    await client.query(FALLBACK.insert, [
      cardId,
      userId,
      input.color,
      null,
      createdAt,
      eventId,
      input.topic,
      cardId,
      'card.provision.requested',
      JSON.stringify(event),
    ]);
    await client.query('COMMIT');
    return { id: cardId, userId };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/**
 * The same SQL as a pgbench script: a random one of `users` bench users (external ids bench-user-1 … N, as
 * Stack.createUsers makes them) is looked up by its subject, as auth does, with fresh ids for the card and event.
 */
export function pgbenchScript(sql: AcceptSql, users: number, topic: string): string {
  // pgbench substitutes :name as a bound parameter (-M extended), so each carries a cast where no column types it,
  // and no other colon may appear (a format like HH24:MI would read as variables).
  const lookup = [
    `\\set n random(1, ${users})`,
    // The lookup ours does anyway (auth), with the ids the server would generate in the same round trip.
    `SELECT id AS uid, 'bench-user-' || :n::text AS sub, gen_random_uuid() AS cid, gen_random_uuid() AS eid, now()::timestamptz(3) AS at FROM users WHERE external_id = 'bench-user-' || :n::text \\gset`,
  ];
  const event = `jsonb_build_object('id', :eid::text, 'type', 'card.provision.requested', 'source', 'card-api', 'time', to_json(date_trunc('milliseconds', clock_timestamp())) #>> '{}', 'subject', :cid::text, 'data', jsonb_build_object('cardId', :cid::text, 'color', 'gold', 'cardholderRef', :uid::text, 'requestedAt', :at::text))`;
  if (sql.kind === 'statement') {
    const expression: Record<Role, string> = {
      userId: ':uid::uuid',
      externalId: ':sub::text',
      cardId: ':cid::uuid',
      eventId: ':eid::uuid',
      color: `'gold'`,
      topic: `'${topic}'`,
      event,
      correlationId: 'NULL',
      createdAt: ':at::timestamptz',
      cardLimit: String(BENCH_CARD_LIMIT),
      eventType: `'card.provision.requested'`,
      // chr(58) is ':', which pgbench would otherwise read as the start of a variable.
      rateKey: `${RATE_KEY_PREFIX.split(':')
        .map((part) => `'${part}'`)
        .join(' || chr(58) || ')} || :uid::text`,
      ratePoints: String(BENCH_RATE_POINTS),
      rateWindowMs: String(RATE_WINDOW_MS),
    };
    const text = sql.text.replace(/\$(\d+)/g, (_match, index: string) => {
      const role = sql.parameters[Number(index) - 1];
      return role ? expression[role] : 'NULL';
    });
    return [...lookup, text.replace(/\s+/g, ' ').trim() + ';', ''].join('\n');
  }
  const oneLine = (text: string): string => text.replace(/\s+/g, ' ').trim();
  return [
    ...lookup,
    'BEGIN;',
    `SELECT now()::timestamptz(3) AS now FROM users WHERE id = :uid::uuid FOR UPDATE \\gset`,
    oneLine(FALLBACK.count.replace('$1', ':uid::uuid')) + ';',
    oneLine(
      FALLBACK.insert
        .replace('$10', event)
        .replace('$1,', ':cid::uuid,')
        .replace('$2', ':uid::uuid')
        .replace('$3', `'gold'`)
        .replace('$4', 'NULL')
        .replace('$5', ':now::timestamptz')
        .replace('$6', ':eid::uuid')
        .replace('$7', `'${topic}'`)
        .replace('$8', ':cid::text')
        .replace('$9', `'card.provision.requested'`),
    ) + ';',
    'COMMIT;',
    '',
  ].join('\n');
}
