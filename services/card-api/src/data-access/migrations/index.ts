import type { Knex } from 'knex';

import * as m20261127_001_users from './20261127_001_users';
import * as m20261127_002_cards_outbox_inbox from './20261127_002_cards_outbox_inbox';
import * as m20261128_003_rate_limits from './20261128_003_rate_limits';
import * as m20261128_004_inbox_detail_and_audit_log from './20261128_004_inbox_detail_and_audit_log';
import * as m20261204_005_create_card_if_allowed from './20261204_005_create_card_if_allowed';
import * as m20261204_006_outbox_quarantine from './20261204_006_outbox_quarantine';

/** Every migration, by the name recorded in knex_migrations. Append only; never rename or edit a shipped one. */
export const migrations: Record<string, Knex.Migration> = {
  '20261127_001_users': m20261127_001_users,
  '20261127_002_cards_outbox_inbox': m20261127_002_cards_outbox_inbox,
  '20261128_003_rate_limits': m20261128_003_rate_limits,
  '20261128_004_inbox_detail_and_audit_log': m20261128_004_inbox_detail_and_audit_log,
  '20261204_005_create_card_if_allowed': m20261204_005_create_card_if_allowed,
  '20261204_006_outbox_quarantine': m20261204_006_outbox_quarantine,
};
