import { createKnex, createUnlessRaced, migrateToLatest, type Logger } from '@cards/runtime';
import type { Knex } from 'knex';

import { migrations } from './migrations';

export { ensureDatabaseExists } from '@cards/runtime';

/**
 * The provider's database: its connections see the provider's schema only (search_path), so the provider's
 * `cards` never meets card-api's table of the same name.
 */
export function createDatabase(options: {
  url: string;
  schema: string;
  poolMax: number;
  logger?: Logger;
  acquireTimeoutMs?: number;
}): Knex {
  return createKnex({ ...options, migrations });
}

/**
 * Creates the provider's schema when missing and brings its tables up to date; safe to run from several
 * processes at once (knex takes its lock table, inside the same schema).
 */
export async function prepareSchema(db: Knex, schema: string): Promise<string[]> {
  await createUnlessRaced(db, /* sql */ `CREATE SCHEMA IF NOT EXISTS "${schema}"`);
  return migrateToLatest(db);
}
