import type { AnyCardEvent, CardColor, CardStatus, FailureCode } from '@cards/contracts';

/** A card as the domain and the database know it (the API shows a subset, see cards.mapper.ts). */
export interface CardRecord {
  id: string;
  userId: string;
  color: CardColor;
  status: CardStatus;
  providerCardId: string | null;
  last4: string | null;
  expMonth: number | null;
  expYear: number | null;
  failureCode: FailureCode | null;
  failureMessage: string | null;
  correlationId: string | null;
  createdAt: Date;
  updatedAt: Date;
  activatedAt: Date | null;
  failedAt: Date | null;
  providerCancelRequestedAt: Date | null;
  providerCancelledAt: Date | null;
}

/** A user as the domain knows it. */
export interface UserRecord {
  id: string;
  externalId: string;
  email: string;
  role: 'user' | 'admin';
  createdAt: Date;
}

/**
 * A card reached its terminal state: the saga from its request is over. Use cases report it after their commit, so
 * the edge can time sagas (card_saga_duration_seconds) without the domain knowing about metrics.
 */
export interface SagaEnd {
  cardId: string;
  status: 'ACTIVE' | 'FAILED';
  /** Set when FAILED. */
  failureCode?: FailureCode;
  requestedAt: Date;
  endedAt: Date;
}

/** Statuses a client may stop polling at. */
export function isTerminal(status: CardStatus): boolean {
  return status !== 'PENDING';
}

/** Writing to the outbox: the events to publish after the surrounding transaction commits. */
export interface OutboxWriter {
  appendOutbox(events: readonly AnyCardEvent[]): Promise<void>;
}

/** Where events produced by card-api say they come from (CloudEvents `source`). */
export const EVENT_SOURCE = 'card-api';
