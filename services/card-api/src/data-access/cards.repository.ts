import type {
  AnyCardEvent,
  CardColor,
  CardStatus,
  EventData,
  EventType,
  FailureCode,
  TopicNames,
} from '@cards/contracts';
import type { Knex } from 'knex';

import type { CardRecord } from '../domain/card';
import { outboxRow } from './outbox.repository';

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

/**
 * Takes a row lock on the user until the transaction ends: card requests of one user run one at a time. Returns the
 * transaction's time at the cards' created_at precision: what that column's default, now(), would store.
 */
export async function lockUser(userId: string, tx: Knex.Transaction): Promise<Date> {
  const { rows } = await tx.raw<{ rows: { now: Date }[] }>(
    /* sql */ 'SELECT now()::timestamptz(3) AS now FROM users WHERE id = ? FOR UPDATE',
    [userId],
  );
  const [row] = rows;
  if (!row) {
    throw new Error(`no user ${userId} to lock`);
  }
  return row.now;
}

/**
 * Inserts a PENDING card and appends its events to the outbox in one statement (a round trip less than two); the
 * outbox insert runs whether or not the statement reads its result, and a failure of either undoes both.
 */
export async function insertCardWithEvents(
  card: { id: string; userId: string; color: CardColor; correlationId: string | null; createdAt: Date },
  events: readonly AnyCardEvent[],
  topics: TopicNames,
  tx: Knex.Transaction,
): Promise<CardRecord> {
  const insertCard = tx<CardRow>('cards')
    .insert({
      id: card.id,
      user_id: card.userId,
      color: card.color,
      correlation_id: card.correlationId,
      created_at: card.createdAt,
    })
    .returning('*');
  const query = tx.with('card', insertCard);
  if (events.length > 0) {
    void query.with('outbox', tx('outbox').insert(events.map((event) => outboxRow(event, topics))));
  }
  const [row] = await query.select<CardRow[]>('*').from('card');
  if (!row) {
    throw new Error('insert returned no row');
  }
  return toRecord(row);
}

/** Counts the cards that count towards the limit. */
export async function countCardsNotFailed(userId: string, db: Knex | Knex.Transaction): Promise<number> {
  const result = await db('cards')
    .where({ user_id: userId })
    .whereNot({ status: 'FAILED' })
    .count<{ count: string }[]>({ count: '*' });
  return Number(result[0]?.count ?? 0);
}

/** A card by id, whoever owns it. */
export async function findCard(id: string, db: Knex | Knex.Transaction): Promise<CardRecord | undefined> {
  const row = await db<CardRow>('cards').where({ id }).first();
  return row && toRecord(row);
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

/** The guarded transition PENDING → ACTIVE; returns when the card was requested, or undefined if not PENDING. */
export async function activateCard(
  id: string,
  details: EventData<typeof EventType.provisioned>,
  at: Date,
  tx: Knex.Transaction,
): Promise<{ requestedAt: Date } | undefined> {
  const updated = await tx<CardRow>('cards')
    .where({ id, status: 'PENDING' })
    .update({
      status: 'ACTIVE',
      provider_card_id: details.providerCardId,
      last4: details.last4,
      exp_month: details.expMonth,
      exp_year: details.expYear,
      activated_at: at,
      updated_at: at,
    })
    .returning<Pick<CardRow, 'created_at'>[]>('created_at');
  const row = updated[0];
  return updated.length === 1 && row ? { requestedAt: row.created_at } : undefined;
}

/** The guarded transition PENDING → FAILED; returns when the card was requested, or undefined if not PENDING. */
export async function failCard(
  id: string,
  failure: { code: string; message: string },
  at: Date,
  tx: Knex.Transaction,
): Promise<{ requestedAt: Date } | undefined> {
  const updated = await tx<CardRow>('cards')
    .where({ id, status: 'PENDING' })
    .update({
      status: 'FAILED',
      failure_code: failure.code as FailureCode,
      failure_message: failure.message.slice(0, 1000),
      failed_at: at,
      updated_at: at,
    })
    .returning<Pick<CardRow, 'created_at'>[]>('created_at');
  const row = updated[0];
  return updated.length === 1 && row ? { requestedAt: row.created_at } : undefined;
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

/** Notes that the provider cancelled its card for ours, and which one. */
export async function markProviderCancelled(
  id: string,
  providerCardId: string,
  at: Date,
  tx: Knex.Transaction,
): Promise<void> {
  await tx('cards')
    .where({ id })
    .update({
      provider_cancelled_at: at,
      provider_card_id: tx.raw('COALESCE(provider_card_id, ?)', [providerCardId]),
      updated_at: at,
    });
}
