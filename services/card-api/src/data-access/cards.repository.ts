import {
  EventCatalog,
  type CardColor,
  type CardStatus,
  type FailureCode,
  type TopicNames,
} from '@cards/contracts';
import type { Knex } from 'knex';

import type { CardRecord } from '../domain/card';
import type { CardRequestStore, CreateCardOutcome } from '../domain/request-card';

/** The cards table's row, as pg returns it. */
interface CardRow {
  id: string;
  user_id: string;
  color: CardColor;
  status: CardStatus;
  provider_card_id: string | null;
  last4: string | null;
  exp_month: number | null;
  exp_year: number | null;
  failure_code: FailureCode | null;
  failure_message: string | null;
  correlation_id: string | null;
  created_at: Date;
  updated_at: Date;
  activated_at: Date | null;
  failed_at: Date | null;
  provider_cancel_requested_at: Date | null;
  provider_cancelled_at: Date | null;
}

function toRecord(row: CardRow): CardRecord {
  return {
    id: row.id,
    userId: row.user_id,
    color: row.color,
    status: row.status,
    providerCardId: row.provider_card_id,
    last4: row.last4,
    expMonth: row.exp_month,
    expYear: row.exp_year,
    failureCode: row.failure_code,
    failureMessage: row.failure_message,
    correlationId: row.correlation_id,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    activatedAt: row.activated_at,
    failedAt: row.failed_at,
    providerCancelRequestedAt: row.provider_cancel_requested_at,
    providerCancelledAt: row.provider_cancelled_at,
  };
}

/** The pg client knex pools: what a prepared statement is sent on. */
interface PooledClient {
  query(config: { name: string; text: string; values: unknown[] }): Promise<{ rows: unknown[] }>;
}

/** The part of knex's client that lends out its pooled connections. */
interface ConnectionPool {
  acquireConnection(): Promise<PooledClient>;
  releaseConnection(client: PooledClient): Promise<unknown>;
}

/**
 * Runs `work` on one pooled connection, bypassing knex's query building (17 µs for the old insert CTE) for a statement
 * sent as a named prepared statement. The pool is knex's, so its acquire timeout (a KnexTimeoutError, a 503) holds.
 */
async function onPooledConnection<T>(db: Knex, work: (client: PooledClient) => Promise<T>): Promise<T> {
  const pool = db.client as ConnectionPool;
  const client = await pool.acquireConnection();
  try {
    return await work(client);
  } finally {
    await pool.releaseConnection(client);
  }
}

/** The card accept statement: parsed and planned once per pooled connection (pg keeps it by name). */
const CREATE_CARD_IF_ALLOWED = {
  name: 'create_card_if_allowed_v1',
  text: /* sql */ `SELECT outcome, retry_after_ms, created_at, updated_at
    FROM create_card_if_allowed($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
};

/** The prefix of a user's rate-limit counter; rate-limiter-flexible wrote it with this key, so counts carry on. */
const RATE_LIMIT_KEY_PREFIX = 'cards:create:user:';

/**
 * requestCard's store: one call of the database function `create_card_if_allowed` (migration 005) on one pooled
 * connection, one commit: it locks the user, counts the request against the rate limit, checks the card limit and
 * inserts the card with its outbox row. See CardRequestStore for the contract.
 */
export async function createCardIfAllowed(
  request: Parameters<CardRequestStore['createCardIfAllowed']>[0],
  topics: TopicNames,
  db: Knex,
): Promise<CreateCardOutcome> {
  const { card, event } = request;
  const values = [
    card.id,
    card.userId,
    card.color,
    card.correlationId,
    event.id,
    topics[EventCatalog[event.type].topic],
    event.type,
    JSON.stringify(event),
    request.cardLimit,
    `${RATE_LIMIT_KEY_PREFIX}${card.userId}`,
    request.rateLimit.points,
    request.rateLimit.windowSeconds * 1000,
  ];
  const { rows } = await onPooledConnection(db, (client) =>
    client.query({ ...CREATE_CARD_IF_ALLOWED, values }),
  );
  const [row] = rows as {
    outcome: 'CREATED' | 'RATE_LIMITED' | 'CARD_LIMIT_REACHED';
    retry_after_ms: string | null;
    created_at: Date | null;
    updated_at: Date | null;
  }[];
  switch (row?.outcome) {
    case 'RATE_LIMITED':
      return { outcome: 'rate-limited', retryAfterMs: Number(row.retry_after_ms ?? 0) };
    case 'CARD_LIMIT_REACHED':
      return { outcome: 'card-limit-reached' };
    case 'CREATED':
      if (row.created_at && row.updated_at) {
        // A card just inserted holds only what was given and the columns' defaults.
        return {
          outcome: 'created',
          card: {
            id: card.id,
            userId: card.userId,
            color: card.color,
            status: 'PENDING',
            providerCardId: null,
            last4: null,
            expMonth: null,
            expYear: null,
            failureCode: null,
            failureMessage: null,
            correlationId: card.correlationId,
            createdAt: row.created_at,
            updatedAt: row.updated_at,
            activatedAt: null,
            failedAt: null,
            providerCancelRequestedAt: null,
            providerCancelledAt: null,
          },
        };
      }
      break;
  }
  throw new Error(`create_card_if_allowed answered ${JSON.stringify(row)}`);
}

/** A card by id, whoever owns it. */
export async function findCard(id: string, db: Knex | Knex.Transaction): Promise<CardRecord | undefined> {
  const row = await db<CardRow>('cards').where({ id }).first();
  return row && toRecord(row);
}

/** The cards with these ids (any owner), in one query: what the long-polls woken by one notification read. */
export async function findCardsByIds(ids: readonly string[], db: Knex): Promise<CardRecord[]> {
  const { rows } = await onPooledConnection(db, (client) =>
    client.query({
      name: 'find_cards_by_ids_v1',
      text: /* sql */ 'SELECT * FROM cards WHERE id = ANY($1::uuid[])',
      values: [ids],
    }),
  );
  return (rows as CardRow[]).map(toRecord);
}

/** A card by id only if `userId` owns it: others' cards are indistinguishable from missing ones. */
export async function findUserCard(
  id: string,
  userId: string,
  db: Knex | Knex.Transaction,
): Promise<CardRecord | undefined> {
  const row = await db<CardRow>('cards').where({ id, user_id: userId }).first();
  return row && toRecord(row);
}

/** Position in the (createdAt, id) order, for keyset pagination. */
export interface CardPosition {
  createdAt: Date;
  id: string;
}

/** The filters operators narrow cards by. */
export interface CardFilters {
  userId?: string | undefined;
  status?: CardStatus | undefined;
  color?: CardColor | undefined;
  createdFrom?: Date | undefined;
  createdTo?: Date | undefined;
}

function applyCardFilters(query: Knex.QueryBuilder, filters: CardFilters): void {
  if (filters.userId) {
    void query.where('user_id', filters.userId);
  }
  if (filters.status) {
    void query.where('status', filters.status);
  }
  if (filters.color) {
    void query.where('color', filters.color);
  }
  if (filters.createdFrom) {
    void query.where('created_at', '>=', filters.createdFrom);
  }
  if (filters.createdTo) {
    void query.where('created_at', '<', filters.createdTo);
  }
}

/**
 * Cards by (createdAt, id), newest first unless `order` is asc, after `after`, with filters; one extra row tells
 * whether another page exists.
 */
export async function listCards(
  filters: CardFilters & {
    after?: CardPosition | undefined;
    order?: 'asc' | 'desc' | undefined;
    limit: number;
  },
  db: Knex,
): Promise<{ cards: CardRecord[]; hasMore: boolean }> {
  const order = filters.order ?? 'desc';
  const query = db<CardRow>('cards')
    .orderBy([
      { column: 'created_at', order },
      { column: 'id', order },
    ])
    .limit(filters.limit + 1);
  applyCardFilters(query, filters);
  if (filters.after) {
    const comparison = order === 'desc' ? '<' : '>';
    void query.whereRaw(/* sql */ `(created_at, id) ${comparison} (?, ?)`, [
      filters.after.createdAt,
      filters.after.id,
    ]);
  }
  const rows = await query;
  return { cards: rows.slice(0, filters.limit).map(toRecord), hasMore: rows.length > filters.limit };
}

/** Counts of the cards that match the filters, by status, and how many PENDING ones are older than the threshold. */
export interface CardSummaryFigures {
  counts: Record<CardStatus, number>;
  stuckPending: number;
  /** The database's clock, which the threshold is measured by. */
  now: Date;
}

/** One query: the matching cards counted by status, and the PENDING ones created before now − stuckAfterSeconds. */
export async function summarizeCards(
  filters: CardFilters,
  stuckAfterSeconds: number,
  db: Knex,
): Promise<CardSummaryFigures> {
  const query = db('cards').first<
    { pending: string; active: string; failed: string; stuck: string; now: Date } | undefined
  >(
    db.raw(/* sql */ `count(*) FILTER (WHERE status = 'PENDING') AS pending`),
    db.raw(/* sql */ `count(*) FILTER (WHERE status = 'ACTIVE') AS active`),
    db.raw(/* sql */ `count(*) FILTER (WHERE status = 'FAILED') AS failed`),
    db.raw(
      /* sql */ `count(*) FILTER (WHERE status = 'PENDING' AND created_at < now() - make_interval(secs => ?)) AS stuck`,
      [stuckAfterSeconds],
    ),
    db.raw(/* sql */ 'now() AS now'),
  );
  applyCardFilters(query, filters);
  const row = await query;
  return {
    counts: {
      PENDING: Number(row?.pending ?? 0),
      ACTIVE: Number(row?.active ?? 0),
      FAILED: Number(row?.failed ?? 0),
    },
    stuckPending: Number(row?.stuck ?? 0),
    now: row?.now ?? new Date(),
  };
}

/** How many cards there are of each status (a status with none is absent). */
export async function countCardsByStatus(db: Knex): Promise<Partial<Record<CardStatus, number>>> {
  const rows = await db('cards')
    .groupBy('status')
    .select<{ status: CardStatus; count: string }[]>('status', db.raw('count(*) AS count'));
  return Object.fromEntries(rows.map((row) => [row.status, Number(row.count)]));
}

/** Notes that compensation was asked of the provider. */
export async function markProviderCancelRequested(id: string, at: Date, tx: Knex.Transaction): Promise<void> {
  await tx('cards').where({ id }).update({ provider_cancel_requested_at: at, updated_at: at });
}

/** The row shape and its mapping, for the batch statements of card-results.repository.ts. */
export { toRecord as cardRecordFromRow, type CardRow };
