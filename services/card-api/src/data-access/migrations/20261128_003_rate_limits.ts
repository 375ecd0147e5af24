import type { Knex } from 'knex';

/**
 * Counters of the abuse limits, shared by every card-api replica. The shape is the one rate-limiter-flexible's
 * PostgreSQL store reads and writes (it is told the table exists, so it never creates one at run time).
 */
export async function up(db: Knex): Promise<void> {
  await db.raw(/* sql */ `
    CREATE TABLE rate_limits (
      key    varchar(255) PRIMARY KEY,
      points integer NOT NULL DEFAULT 0,
      expire bigint
    )
  `);
}

export async function down(db: Knex): Promise<void> {
  await db.raw(/* sql */ 'DROP TABLE rate_limits');
}
