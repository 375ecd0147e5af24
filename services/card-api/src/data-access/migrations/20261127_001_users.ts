import type { Knex } from 'knex';

/** Users are a prerequisite of cards: created by an admin, matched to a token's `sub` by `external_id`. */
export async function up(db: Knex): Promise<void> {
  await db.raw(/* sql */ `
    CREATE TABLE users (
      id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      external_id text NOT NULL UNIQUE CHECK (length(external_id) BETWEEN 1 AND 200),
      email       text NOT NULL CHECK (length(email) BETWEEN 3 AND 320),
      role        text NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
      created_at  timestamptz NOT NULL DEFAULT now()
    )
  `);
}

export async function down(db: Knex): Promise<void> {
  await db.raw(/* sql */ 'DROP TABLE users');
}
