import { randomUUID } from 'node:crypto';

import { ErrorCode, EventType, type CardColor, type CardEvent } from '@cards/contracts';

import { EVENT_SOURCE, type CardRecord } from './card';
import { AppError } from '@cards/contracts';

/** A `card.provision.requested` event before the store stamps its `requestedAt` (the card's creation time). */
export type ProvisionRequestedDraft = Omit<CardEvent<typeof EventType.provisionRequested>, 'data'> & {
  data: Omit<CardEvent<typeof EventType.provisionRequested>['data'], 'requestedAt'>;
};

/** What the store answers a card request with: the card, or which limit refused it. */
export type CreateCardOutcome =
  | { outcome: 'created'; card: CardRecord }
  | { outcome: 'card-limit-reached' }
  | { outcome: 'rate-limited'; retryAfterMs: number };

/** Where requestCard stores a card. */
export interface CardRequestStore {
  /**
   * In one transaction, holding the user's lock so both limits hold under concurrency: counts the request against
   * the user's rate limit (a refused request counts too), checks the user's cards that are not FAILED against the
   * card limit, and when both allow it inserts the PENDING card with its event in the outbox, stamping the event's
   * `requestedAt` with the card's creation time as the database stores it. Nothing but the rate count is written
   * unless the card is created.
   */
  createCardIfAllowed(request: {
    card: { id: string; userId: string; color: CardColor; correlationId: string | null };
    event: ProvisionRequestedDraft;
    cardLimit: number;
    rateLimit: { points: number; windowSeconds: number };
  }): Promise<CreateCardOutcome>;
}

export interface RequestCardDeps {
  store: CardRequestStore;
  cardLimitPerUser: number;
  /** Card requests a user may make per window, across every replica. */
  rateLimitPerUser: { points: number; windowSeconds: number };
  /**
   * SAGA_DEADLINE_SECONDS: the command carries `now + this` as its deadline, after which the worker makes no
   * provider card (the reaper fails the card TIMED_OUT at the same time, counted from its creation).
   */
  sagaDeadlineSeconds: number;
  /** Called after commit: a hint that the outbox has new rows (coalesced, never one NOTIFY per row). */
  outboxWritten(): void;
  newId?: () => string;
  now?: () => Date;
}

/** The detail of a refused card request, whichever limit (per user, per client address) refused it. */
export const RATE_LIMITED_DETAIL =
  'Too many card requests; retry after the number of seconds in Retry-After.';

/** The user made more card requests than the window allows; the edge answers 429 with Retry-After. */
export class CardRequestsRateLimited extends AppError {
  constructor(retryAfterSeconds: number) {
    super({
      code: ErrorCode.RATE_LIMITED,
      kind: 'rate-limited',
      message: 'Too Many Requests',
      details: { detail: RATE_LIMITED_DETAIL },
      retryAfterSeconds,
    });
    this.name = 'CardRequestsRateLimited';
  }
}

/** A user's request for a card. */
export interface CardRequest {
  userId: string;
  color: CardColor;
  correlationId: string | null;
  traceparent?: string | undefined;
  /**
   * The id to give the card, when the caller reserved one up front (an idempotent request does, so that a retry
   * after a crash can tell whether this card was created, and the card's primary key forbids a second one).
   */
  cardId?: string | undefined;
}

/**
 * A user asks for a card: within the rate and card limits, store the PENDING card and its
 * `card.provision.requested` event in one transaction, so the request to the provider can neither be lost nor sent
 * for a card that does not exist.
 */
export async function requestCard(input: CardRequest, deps: RequestCardDeps): Promise<CardRecord> {
  const newId = deps.newId ?? randomUUID;
  const now = deps.now ?? (() => new Date());
  const cardId = input.cardId ?? newId();
  const requestedAt = now();
  // From the clock before the database's, so the worker stops a little before the reaper fails the card, never after.
  const deadline = new Date(requestedAt.getTime() + deps.sagaDeadlineSeconds * 1000);
  const result = await deps.store.createCardIfAllowed({
    card: { id: cardId, userId: input.userId, color: input.color, correlationId: input.correlationId },
    event: {
      id: newId(),
      type: EventType.provisionRequested,
      source: EVENT_SOURCE,
      time: requestedAt.toISOString(),
      subject: cardId,
      ...(input.correlationId && { correlationId: input.correlationId }),
      ...(input.traceparent && { traceparent: input.traceparent }),
      data: { cardId, color: input.color, cardholderRef: input.userId, deadline: deadline.toISOString() },
    },
    cardLimit: deps.cardLimitPerUser,
    rateLimit: deps.rateLimitPerUser,
  });
  switch (result.outcome) {
    case 'rate-limited':
      throw new CardRequestsRateLimited(Math.max(1, Math.ceil(result.retryAfterMs / 1000)));
    case 'card-limit-reached':
      throw new AppError({
        code: ErrorCode.CARD_LIMIT_REACHED,
        kind: 'conflict',
        message: 'Card limit reached',
        details: {
          detail: `A user may hold at most ${deps.cardLimitPerUser} cards that are not FAILED.`,
          limit: deps.cardLimitPerUser,
        },
      });
    case 'created':
      deps.outboxWritten();
      return result.card;
  }
}
