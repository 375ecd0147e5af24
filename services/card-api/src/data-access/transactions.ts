import type { TopicNames } from '@cards/contracts';
import type { Knex } from 'knex';

import type { ApplyResultsTransaction } from '../domain/apply-provisioning-result';
import type { CardRequestStore } from '../domain/request-card';
import * as results from './card-results.repository';
import * as cards from './cards.repository';
import { appendOutbox } from './outbox.repository';

/**
 * requestCard's store: each card request is one call of a database function on one pooled connection, one commit
 * (see cards.createCardIfAllowed); no transaction is held open across round trips.
 */
export function requestCardStore(db: Knex, topics: TopicNames): CardRequestStore {
  return { createCardIfAllowed: (request) => cards.createCardIfAllowed(request, topics, db) };
}

/** The knex implementation of applyProvisioningResults's transaction port: a few set-based statements per batch. */
export function applyResultsTransaction(db: Knex, topics: TopicNames) {
  return <T>(work: (tx: ApplyResultsTransaction) => Promise<T>): Promise<T> =>
    db.transaction((tx) =>
      work({
        recordInbox: (events) => results.recordInboxBatch(events, tx),
        lockCards: (cardIds) => results.lockCards(cardIds, tx),
        activate: (activations, at) => results.activateCards(activations, at, tx),
        fail: (failures, at) => results.failCards(failures, at, tx),
        markProviderCancelRequested: (cardIds, at) => results.markProviderCancelRequested(cardIds, at, tx),
        markProviderCancelled: (cancellations, at) => results.markProviderCancelled(cancellations, at, tx),
        setInboxOutcomes: (outcomes) => results.setInboxOutcomes(outcomes, tx),
        appendOutbox: (events) => appendOutbox(events, topics, tx),
      }),
    );
}
