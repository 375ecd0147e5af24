import type { Knex } from 'knex';

/**
 * Quarantine for outbox rows the relay cannot publish (an event that fails its contract, or a row that fails alone
 * OUTBOX_QUARANTINE_AFTER_ATTEMPTS times): set aside with `quarantined_at`, so one row no longer stops the relay for
 * everyone, until an operator inspects, fixes and releases it (`ops outbox quarantined`, `ops outbox release`).
 * Later rows of the same key wait behind it, so a card's events still go out in order; the partial index answers
 * "is an earlier row of this key quarantined" for every row the relay reads, and is empty almost always.
 */
export async function up(db: Knex): Promise<void> {
  await db.raw(/* sql */ `
    ALTER TABLE outbox ADD COLUMN quarantined_at timestamptz;
    CREATE INDEX outbox_quarantined_idx ON outbox (key, id)
      WHERE quarantined_at IS NOT NULL AND published_at IS NULL;
  `);
}

export async function down(db: Knex): Promise<void> {
  await db.raw(/* sql */ `
    DROP INDEX outbox_quarantined_idx;
    ALTER TABLE outbox DROP COLUMN quarantined_at;
  `);
}
