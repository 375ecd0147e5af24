import type { Knex } from 'knex';

import type { CardViewDeps } from '../domain/card-view';
import { findCard } from './cards.repository';
import { listInboxByCard } from './inbox.repository';
import { listOutboxByKey } from './outbox.repository';
import { findUserById } from './users.repository';

/** Where a card's view is read from: the card, its owner, and its saga's outbox and inbox rows, all in `db`. */
export function cardViewSources(db: Knex): CardViewDeps {
  return {
    findCard: (id) => findCard(id, db),
    findUser: (id) => findUserById(id, db),
    outboxRows: (cardId) => listOutboxByKey(cardId, db),
    inboxRows: (cardId) => listInboxByCard(cardId, db),
  };
}
