import type { Knex } from 'knex';

import * as m20261128_001_cards from './20261128_001_cards';

/** Every migration, by the name recorded in knex_migrations. Append only; never rename or edit a shipped one. */
export const migrations: Record<string, Knex.Migration> = {
  '20261128_001_cards': m20261128_001_cards,
};
