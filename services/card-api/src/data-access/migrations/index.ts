import type { Knex } from 'knex';

import * as m20261127_001_users from './20261127_001_users';

/** Every migration, by the name recorded in knex_migrations. Append only; never rename or edit a shipped one. */
export const migrations: Record<string, Knex.Migration> = {
  '20261127_001_users': m20261127_001_users,
};
