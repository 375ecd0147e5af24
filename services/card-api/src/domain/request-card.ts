import { randomUUID } from 'node:crypto';

import { ErrorCode, EventType, type CardColor, type CardEvent } from '@cards/contracts';

import { EVENT_SOURCE, type CardRecord, type OutboxWriter } from './card';
import { AppError } from './errors';

/** What requestCard needs inside its one transaction. */
export interface RequestCardTransaction extends OutboxWriter {
  /** Serialises card requests of one user until the transaction ends, so the limit holds under concurrency. */
  lockUser(userId: string): Promise<void>;
  countCardsNotFailed(userId: string): Promise<number>;
  insertCard(card: {
    id: string;
    userId: string;
    color: CardColor;
    correlationId: string | null;
  }): Promise<CardRecord>;
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
    await tx.lockUser(input.userId);
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
    const created = await tx.insertCard({
      id: input.cardId ?? newId(),
      userId: input.userId,
      color: input.color,
      correlationId: input.correlationId,
    });
    const event: CardEvent<typeof EventType.provisionRequested> = {
      id: newId(),
      type: EventType.provisionRequested,
      source: EVENT_SOURCE,
      time: now().toISOString(),
      subject: created.id,
      ...(input.correlationId && { correlationId: input.correlationId }),
      ...(input.traceparent && { traceparent: input.traceparent }),
      data: {
        cardId: created.id,
        color: created.color,
        cardholderRef: input.userId,
        requestedAt: created.createdAt.toISOString(),
      },
    };
    await tx.appendOutbox([event]);
    return created;
  });
  deps.outboxWritten();
  return card;
}
