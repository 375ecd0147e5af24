import type { CardColor } from '@cards/contracts';
import type { Knex } from 'knex';

import type {
  CardListFilter,
  NewProviderCard,
  ProviderCardRecord,
  ProviderCardStore,
} from '../domain/card-issuing';

/** A row of `cards` as pg returns it (timestamptz as Date). */
interface CardRow {
  id: string;
  reference: string;
  color: CardColor;
  cardholder_ref: string;
  status: ProviderCardRecord['status'];
  last4: string;
  exp_month: number;
  exp_year: number;
  created_at: Date;
  cancelled_at: Date | null;
}

/** Listed rather than `*`, so a new column never reaches an answer without a decision. */
const CARD_COLUMNS = [
  'id',
  'reference',
  'color',
  'cardholder_ref',
  'status',
  'last4',
  'exp_month',
  'exp_year',
  'created_at',
  'cancelled_at',
] as const;
const RETURNING = CARD_COLUMNS.join(', ');

function toRecord(row: CardRow): ProviderCardRecord {
  return {
    id: row.id,
    reference: row.reference,
    color: row.color,
    cardholderRef: row.cardholder_ref,
    status: row.status,
    last4: row.last4,
    expMonth: row.exp_month,
    expYear: row.exp_year,
    createdAt: row.created_at,
    cancelledAt: row.cancelled_at,
  };
}

/** The provider's cards in PostgreSQL (its own schema, via the pool's search_path). */
export function createCardRepository(db: Knex): ProviderCardStore {
  return {
    async insertIfKeyFree(card: NewProviderCard) {
      // ON CONFLICT DO NOTHING waits for a concurrent insert of the same key to commit, then inserts nothing:
      // the caller reads the winner's row, so N identical requests at once still make one card.
      const result = await db.raw<{ rows: CardRow[] }>(
        /* sql */ `
          INSERT INTO cards (id, idempotency_key, request_fingerprint, reference, color, cardholder_ref,
                             last4, exp_month, exp_year)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
          ON CONFLICT (idempotency_key) DO NOTHING
          RETURNING ${RETURNING}
        `,
        [
          card.id,
          card.idempotencyKey,
          card.requestFingerprint,
          card.reference,
          card.color,
          card.cardholderRef,
          card.last4,
          card.expMonth,
          card.expYear,
        ],
      );
      const row = result.rows[0];
      return row ? toRecord(row) : null;
    },

    async findByIdempotencyKey(key: string) {
      const result = await db.raw<{ rows: (CardRow & { request_fingerprint: string })[] }>(
        /* sql */ `SELECT ${RETURNING}, request_fingerprint FROM cards WHERE idempotency_key = ?`,
        [key],
      );
      const row = result.rows[0];
      return row ? { card: toRecord(row), requestFingerprint: row.request_fingerprint } : null;
    },

    async findById(id: string) {
      const result = await db.raw<{ rows: CardRow[] }>(
        /* sql */ `SELECT ${RETURNING} FROM cards WHERE id = ?`,
        [id],
      );
      const row = result.rows[0];
      return row ? toRecord(row) : null;
    },

    async list(filter: CardListFilter) {
      const query = db('cards').select<CardRow[]>([...CARD_COLUMNS]);
      if (filter.reference !== undefined) {
        query.where('reference', filter.reference);
      }
      if (filter.status !== undefined) {
        query.where('status', filter.status);
      }
      if (filter.createdFrom !== undefined) {
        query.where('created_at', '>=', filter.createdFrom);
      }
      if (filter.createdTo !== undefined) {
        query.where('created_at', '<', filter.createdTo);
      }
      // id breaks ties between cards created in the same millisecond, so pages come back in a stable order.
      const rows = await query
        .orderBy([
          { column: 'created_at', order: 'desc' },
          { column: 'id', order: 'desc' },
        ])
        .limit(filter.limit);
      return rows.map(toRecord);
    },

    async cancelIfActive(id: string) {
      const result = await db.raw<{ rows: CardRow[] }>(
        /* sql */ `
          UPDATE cards
             SET status = 'CANCELLED', cancelled_at = date_trunc('milliseconds', now())
           WHERE id = ? AND status = 'ACTIVE'
          RETURNING ${RETURNING}
        `,
        [id],
      );
      const row = result.rows[0];
      return row ? toRecord(row) : null;
    },
  };
}
