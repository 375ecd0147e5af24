import { createKnex, type Logger } from '@cards/runtime';
import type { Knex } from 'knex';

import { migrations } from './migrations';

export { ensureDatabaseExists, migrateToLatest } from '@cards/runtime';

/** The card database: a knex pool with card-api's migrations. */
export function createDatabase(options: {
  url: string;
  poolMax: number;
  logger?: Logger;
  acquireTimeoutMs?: number;
  statementTimeoutMs?: number;
}): Knex {
  return createKnex({ ...options, migrations });
}
