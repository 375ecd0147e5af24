import { randomUUID } from 'node:crypto';

import { ErrorCode, EventType, type AnyCardEvent, type CardColor, type CardEvent } from '@cards/contracts';

import { EVENT_SOURCE, type CardRecord } from './card';
import { AppError } from './errors';

/**
 * What requestCard needs inside its one transaction. Each method is one statement: the count must follow the lock
 * (a statement that waited for the lock still reads what it saw before waiting), the card and its event go together.
 */
export interface RequestCardTransaction {
  /**
   * Serialises card requests of one user until the transaction ends, so the limit holds under concurrency; returns
   * the transaction's time, the card's creation time (as the database stores it), which its event states.
   */
  lockUser(userId: string): Promise<Date>;
  countCardsNotFailed(userId: string): Promise<number>;
  /** Inserts the PENDING card and appends its events to the outbox. */
  insertCardWithEvents(
    card: {
      id: string;
      userId: string;
      color: CardColor;
      correlationId: string | null;
      createdAt: Date;
    },
    events: readonly AnyCardEvent[],
  ): Promise<CardRecord>;
}

export interface RequestCardDeps {
  transaction<T>(work: (tx: RequestCardTransaction) => Promise<T>): Promise<T>;
  cardLimitPerUser: number;
  /** Called after commit: a hint that the outbox has new rows (coalesced, never one NOTIFY per row). */
  outboxWritten(): void;
  newId?: () => string;
  now?: () => Date;
}

/**
 * A user asks for a card: check the limit, then store the PENDING card and its `card.provision.requested` event in
 * one transaction, so the request to the provider can neither be lost nor sent for a card that does not exist.
 */
export async function requestCard(
  input: {
    userId: string;
    color: CardColor;
    correlationId: string | null;
    traceparent?: string | undefined;
    /**
     * The id to give the card, when the caller reserved one up front (an idempotent request does, so that a retry
     * after a crash can tell whether this card was created, and the card's primary key forbids a second one).
     */
    cardId?: string | undefined;
  },
  deps: RequestCardDeps,
): Promise<CardRecord> {
  const newId = deps.newId ?? randomUUID;
  const now = deps.now ?? (() => new Date());
  const card = await deps.transaction(async (tx) => {
    const createdAt = await tx.lockUser(input.userId);
    const held = await tx.countCardsNotFailed(input.userId);
    if (held >= deps.cardLimitPerUser) {
      throw new AppError({
        code: ErrorCode.CARD_LIMIT_REACHED,
        kind: 'conflict',
        message: 'Card limit reached',
        details: {
          detail: `A user may hold at most ${deps.cardLimitPerUser} cards that are not FAILED.`,
          limit: deps.cardLimitPerUser,
        },
      });
    }
    const cardId = input.cardId ?? newId();
    const event: CardEvent<typeof EventType.provisionRequested> = {
      id: newId(),
      type: EventType.provisionRequested,
      source: EVENT_SOURCE,
      time: now().toISOString(),
      subject: cardId,
      ...(input.correlationId && { correlationId: input.correlationId }),
      ...(input.traceparent && { traceparent: input.traceparent }),
      data: {
        cardId,
        color: input.color,
        cardholderRef: input.userId,
        requestedAt: createdAt.toISOString(),
      },
    };
    return tx.insertCardWithEvents(
      { id: cardId, userId: input.userId, color: input.color, correlationId: input.correlationId, createdAt },
      [event],
    );
  });
  deps.outboxWritten();
  return card;
}
