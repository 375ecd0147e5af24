import { randomUUID } from 'node:crypto';

import { EventType, type AnyCardEvent, type CardEvent, type EventData } from '@cards/contracts';

import { EVENT_SOURCE, type CardRecord, type OutboxWriter, type SagaEnd } from './card';

/** What the inbox keeps of a received event: enough for the card's timeline to tell the provider's side. */
export interface InboxRecord {
  id: string;
  type: string;
  cardId: string;
  /** When the event says it happened: for a result, when the provider answered (the worker's clock). */
  occurredAt?: Date;
  /** Provider calls the worker made for it, when the event says. */
  attempts?: number | null;
  /** What the provider said, without card data: a failure's code and message, the provider card id. */
  detail?: Record<string, unknown>;
}

/** What applying a result needs inside its one transaction. */
export interface ApplyResultTransaction extends OutboxWriter {
  /** Records the event in the inbox; false when it was there already (a redelivery). */
  recordInbox(event: InboxRecord): Promise<boolean>;
  setInboxOutcome(eventId: string, outcome: ApplyOutcome): Promise<void>;
  findCard(cardId: string): Promise<CardRecord | undefined>;
  /** The guarded transition PENDING → ACTIVE: when the card was requested, or undefined when it was not PENDING. */
  activate(
    cardId: string,
    details: EventData<typeof EventType.provisioned>,
    at: Date,
  ): Promise<{ requestedAt: Date } | undefined>;
  /** The guarded transition PENDING → FAILED: when the card was requested, or undefined when it was not PENDING. */
  fail(
    cardId: string,
    failure: { code: string; message: string },
    at: Date,
  ): Promise<{ requestedAt: Date } | undefined>;
  markProviderCancelRequested(cardId: string, at: Date): Promise<void>;
  markProviderCancelled(cardId: string, providerCardId: string, at: Date): Promise<void>;
}

export interface ApplyResultDeps {
  transaction<T>(work: (tx: ApplyResultTransaction) => Promise<T>): Promise<T>;
  /** Called after commit: these cards changed (wakes long-polls; coalesced). */
  cardsChanged(cardIds: readonly string[]): void;
  outboxWritten(): void;
  /** Called after commit when the result made its card terminal (times the saga). */
  sagaEnded?: (saga: SagaEnd) => void;
  now?: () => Date;
  newId?: () => string;
}

/** What applying an event did; recorded in the inbox for operators. */
export type ApplyOutcome =
  | 'duplicate'
  | 'activated'
  | 'failed'
  | 'ignored-not-pending'
  | 'ignored-unknown-card'
  | 'compensation-requested'
  | 'provider-cancel-recorded'
  | 'ignored-not-a-result';

/** The inbox row of an event: its time, attempts and what the provider said (never last4 or expiry). */
export function inboxRecord(event: AnyCardEvent): InboxRecord {
  const occurredAt = new Date(event.time);
  const record: InboxRecord = {
    id: event.id,
    type: event.type,
    cardId: event.data.cardId,
    ...(!Number.isNaN(occurredAt.getTime()) && { occurredAt }),
  };
  switch (event.type) {
    case EventType.provisioned:
      return {
        ...record,
        attempts: event.data.attempts ?? null,
        detail: { providerCardId: event.data.providerCardId },
      };
    case EventType.cancelled:
      return { ...record, detail: { providerCardId: event.data.providerCardId } };
    case EventType.provisioningFailed:
      return {
        ...record,
        attempts: event.data.attempts,
        detail: { code: event.data.code, message: event.data.message },
      };
    case EventType.provisionRequested:
    case EventType.cancelRequested:
      return record;
  }
}

/**
 * Applies a provider result to its card, exactly once: the inbox row and the guarded transition commit together,
 * so a redelivered or late event changes nothing. A success that arrives for a card that already FAILED asks the
 * provider to cancel its card (compensation), through the outbox like every other command.
 */
export async function applyProvisioningResult(
  event: AnyCardEvent,
  deps: ApplyResultDeps,
): Promise<ApplyOutcome> {
  const now = deps.now ?? (() => new Date());
  const newId = deps.newId ?? randomUUID;
  const effects: { wroteOutbox: boolean; sagaEnded?: SagaEnd } = { wroteOutbox: false };
  const outcome = await deps.transaction(async (tx): Promise<ApplyOutcome> => {
    const cardId = event.data.cardId;
    if (!(await tx.recordInbox(inboxRecord(event)))) {
      return 'duplicate';
    }
    const decide = async (): Promise<ApplyOutcome> => {
      const at = now();
      switch (event.type) {
        case EventType.provisioned: {
          const activated = await tx.activate(cardId, event.data, at);
          if (activated) {
            effects.sagaEnded = { cardId, status: 'ACTIVE', requestedAt: activated.requestedAt, endedAt: at };
            return 'activated';
          }
          const card = await tx.findCard(cardId);
          if (!card) {
            return 'ignored-unknown-card';
          }
          if (card.status === 'ACTIVE' && card.providerCardId === event.data.providerCardId) {
            return 'ignored-not-pending';
          }
          // The provider issued a card we will not use (ours FAILED first, or holds another): cancel it.
          const cancel: CardEvent<typeof EventType.cancelRequested> = {
            id: newId(),
            type: EventType.cancelRequested,
            source: EVENT_SOURCE,
            time: at.toISOString(),
            subject: cardId,
            ...(event.correlationId && { correlationId: event.correlationId }),
            ...(event.traceparent && { traceparent: event.traceparent }),
            data: {
              cardId,
              providerCardId: event.data.providerCardId,
              reason: `provider card issued for a card that is ${card.status}`,
            },
          };
          await tx.appendOutbox([cancel]);
          await tx.markProviderCancelRequested(cardId, at);
          effects.wroteOutbox = true;
          return 'compensation-requested';
        }
        case EventType.provisioningFailed: {
          const failed = await tx.fail(cardId, { code: event.data.code, message: event.data.message }, at);
          if (!failed) {
            return 'ignored-not-pending';
          }
          effects.sagaEnded = {
            cardId,
            status: 'FAILED',
            failureCode: event.data.code,
            requestedAt: failed.requestedAt,
            endedAt: at,
          };
          return 'failed';
        }
        case EventType.cancelled:
          await tx.markProviderCancelled(cardId, event.data.providerCardId, at);
          return 'provider-cancel-recorded';
        case EventType.provisionRequested:
        case EventType.cancelRequested:
          return 'ignored-not-a-result';
      }
    };
    const result = await decide();
    await tx.setInboxOutcome(event.id, result);
    return result;
  });
  if (outcome === 'activated' || outcome === 'failed' || outcome === 'provider-cancel-recorded') {
    deps.cardsChanged([event.data.cardId]);
  }
  if (effects.wroteOutbox) {
    deps.outboxWritten();
  }
  if (effects.sagaEnded) {
    deps.sagaEnded?.(effects.sagaEnded);
  }
  return outcome;
}
