import type { Knex } from 'knex';

/**
 * The provider's cards. Unqualified names resolve to the provider's own schema (the pool's search_path). Only
 * last4 and expiry are kept: a full card number or CVV never exists in this system, not even in the mock.
 */
export async function up(db: Knex): Promise<void> {
  await db.raw(/* sql */ `
    CREATE TABLE cards (
      id                  text PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 100),
      idempotency_key     text NOT NULL UNIQUE CHECK (length(idempotency_key) BETWEEN 1 AND 200),
      request_fingerprint text NOT NULL,
      reference           uuid NOT NULL,
      color               text NOT NULL,
      cardholder_ref      uuid NOT NULL,
      status              text NOT NULL DEFAULT 'ACTIVE' CHECK (status IN ('ACTIVE', 'CANCELLED')),
      last4               char(4) NOT NULL CHECK (last4 ~ '^[0-9]{4}$'),
      exp_month           int NOT NULL CHECK (exp_month BETWEEN 1 AND 12),
      exp_year            int NOT NULL CHECK (exp_year BETWEEN 2000 AND 2100),
      -- Millisecond precision, the precision of the ISO timestamps the API returns, so a createdAt read from an
      -- answer and passed back as createdFrom/createdTo selects exactly the cards it should.
      created_at          timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
      cancelled_at        timestamptz NULL,
      CHECK ((status = 'CANCELLED') = (cancelled_at IS NOT NULL))
    )
  `);
  await db.raw(/* sql */ 'CREATE INDEX cards_reference_created_at ON cards (reference, created_at DESC)');
  await db.raw(/* sql */ 'CREATE INDEX cards_created_at ON cards (created_at DESC)');
}

export async function down(db: Knex): Promise<void> {
  await db.raw(/* sql */ 'DROP TABLE cards');
}
