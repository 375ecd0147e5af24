import type { TopicNames } from '@cards/contracts';
import type { Knex } from 'knex';

import type { ApplyResultTransaction } from '../domain/apply-provisioning-result';
import type { RequestCardTransaction } from '../domain/request-card';
import * as cards from './cards.repository';
import * as inbox from './inbox.repository';
import { appendOutbox } from './outbox.repository';

/** The knex implementation of requestCard's transaction port. */
export function requestCardTransaction(db: Knex, topics: TopicNames) {
  return <T>(work: (tx: RequestCardTransaction) => Promise<T>): Promise<T> =>
    db.transaction((tx) =>
      work({
        lockUser: (userId) => cards.lockUser(userId, tx),
        countCardsNotFailed: (userId) => cards.countCardsNotFailed(userId, tx),
        insertCardWithEvents: (card, events) => cards.insertCardWithEvents(card, events, topics, tx),
      }),
    );
}

/** The knex implementation of applyProvisioningResult's transaction port. */
export function applyResultTransaction(db: Knex, topics: TopicNames) {
  return <T>(work: (tx: ApplyResultTransaction) => Promise<T>): Promise<T> =>
    db.transaction((tx) =>
      work({
        recordInbox: (event) => inbox.recordInbox(event, tx),
        setInboxOutcome: (eventId, outcome) => inbox.setInboxOutcome(eventId, outcome, tx),
        findCard: (cardId) => cards.findCard(cardId, tx),
        activate: (cardId, details, at) => cards.activateCard(cardId, details, at, tx),
        fail: (cardId, failure, at) => cards.failCard(cardId, failure, at, tx),
        markProviderCancelRequested: (cardId, at) => cards.markProviderCancelRequested(cardId, at, tx),
        markProviderCancelled: (cardId, providerCardId, at) =>
          cards.markProviderCancelled(cardId, providerCardId, at, tx),
        appendOutbox: (events) => appendOutbox(events, topics, tx),
      }),
    );
}
