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

/** A card made ACTIVE by a result. */
export interface Activation {
  cardId: string;
  details: EventData<typeof EventType.provisioned>;
}

/** A card made FAILED by a result. */
export interface Failure {
  cardId: string;
  code: string;
  message: string;
}

/**
 * What applying a batch of results needs inside its one transaction. Every method is one set-based statement over
 * the whole batch, so a batch costs the same few round trips whatever its size.
 */
export interface ApplyResultsTransaction extends OutboxWriter {
  /** Records the events in the inbox; returns the ids that were not there yet (the others are redeliveries). */
  recordInbox(events: readonly InboxRecord[]): Promise<ReadonlySet<string>>;
  /** The cards with these ids, locked until the transaction ends: the decisions below rest on what they say. */
  lockCards(cardIds: readonly string[]): Promise<ReadonlyMap<string, CardRecord>>;
  /** The guarded transitions PENDING → ACTIVE; returns how many cards moved. */
  activate(activations: readonly Activation[], at: Date): Promise<number>;
  /** The guarded transitions PENDING → FAILED; returns how many cards moved. */
  fail(failures: readonly Failure[], at: Date): Promise<number>;
  markProviderCancelRequested(cardIds: readonly string[], at: Date): Promise<void>;
  markProviderCancelled(
    cancellations: readonly { cardId: string; providerCardId: string }[],
    at: Date,
  ): Promise<void>;
  setInboxOutcomes(outcomes: readonly { eventId: string; outcome: ApplyOutcome }[]): Promise<void>;
}

export interface ApplyResultDeps {
  transaction<T>(work: (tx: ApplyResultsTransaction) => Promise<T>): Promise<T>;
  /** Called after commit: these cards changed (wakes long-polls; coalesced). */
  cardsChanged(cardIds: readonly string[]): void;
  outboxWritten(): void;
  /** Called after commit for each card the batch made terminal (times the saga). */
  sagaEnded?: (sagas: readonly SagaEnd[]) => void;
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

/** What a batch decided, to be written in a few set-based statements. */
interface BatchDecisions {
  outcomes: { eventId: string; outcome: ApplyOutcome }[];
  activations: Activation[];
  failures: Failure[];
  cancels: CardEvent<typeof EventType.cancelRequested>[];
  cancelled: { cardId: string; providerCardId: string }[];
  sagaEnds: SagaEnd[];
  changed: Set<string>;
}

/**
 * Decides what each new result does to its card, in offset order, against the locked cards, which it updates in
 * memory as it goes: a second result of the same card in the batch sees what the first one did.
 */
function decide(
  events: readonly AnyCardEvent[],
  cards: Map<string, CardRecord>,
  at: Date,
  newId: () => string,
): BatchDecisions {
  const decisions: BatchDecisions = {
    outcomes: [],
    activations: [],
    failures: [],
    cancels: [],
    cancelled: [],
    sagaEnds: [],
    changed: new Set(),
  };
  const decideOne = (event: AnyCardEvent): ApplyOutcome => {
    const cardId = event.data.cardId;
    const card = cards.get(cardId);
    switch (event.type) {
      case EventType.provisioned: {
        if (!card) {
          return 'ignored-unknown-card';
        }
        if (card.status === 'PENDING') {
          cards.set(cardId, { ...card, status: 'ACTIVE', providerCardId: event.data.providerCardId });
          decisions.activations.push({ cardId, details: event.data });
          decisions.sagaEnds.push({ cardId, status: 'ACTIVE', requestedAt: card.createdAt, endedAt: at });
          decisions.changed.add(cardId);
          return 'activated';
        }
        if (card.status === 'ACTIVE' && card.providerCardId === event.data.providerCardId) {
          return 'ignored-not-pending';
        }
        // The provider issued a card we will not use (ours FAILED first, or holds another): cancel it.
        decisions.cancels.push({
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
        });
        return 'compensation-requested';
      }
      case EventType.provisioningFailed: {
        if (card?.status !== 'PENDING') {
          return 'ignored-not-pending';
        }
        cards.set(cardId, { ...card, status: 'FAILED' });
        decisions.failures.push({ cardId, code: event.data.code, message: event.data.message });
        decisions.sagaEnds.push({
          cardId,
          status: 'FAILED',
          failureCode: event.data.code,
          requestedAt: card.createdAt,
          endedAt: at,
        });
        decisions.changed.add(cardId);
        return 'failed';
      }
      case EventType.cancelled:
        decisions.cancelled.push({ cardId, providerCardId: event.data.providerCardId });
        decisions.changed.add(cardId);
        return 'provider-cancel-recorded';
      case EventType.provisionRequested:
      case EventType.cancelRequested:
        return 'ignored-not-a-result';
    }
  };
  for (const event of events) {
    decisions.outcomes.push({ eventId: event.id, outcome: decideOne(event) });
  }
  return decisions;
}

/**
 * Applies a batch of provider results to their cards, exactly once and in order: the inbox rows and the guarded
 * transitions commit together in one transaction, so a redelivered or late event changes nothing. A success that
 * arrives for a card that already FAILED (or holds another provider card) asks the provider to cancel its card
 * (compensation), through the outbox like every other command. Returns each event's outcome, in the batch's order.
 */
export async function applyProvisioningResults(
  events: readonly AnyCardEvent[],
  deps: ApplyResultDeps,
): Promise<ApplyOutcome[]> {
  const now = deps.now ?? (() => new Date());
  const newId = deps.newId ?? randomUUID;
  const result = await deps.transaction(async (tx) => {
    const fresh = new Set(await tx.recordInbox(events.map(inboxRecord)));
    // An id seen twice in one batch is new only the first time.
    const isNew = (event: AnyCardEvent): boolean => fresh.delete(event.id);
    const newFlags = events.map(isNew);
    const newEvents = events.filter((_event, index) => newFlags[index]);
    const cards = new Map(await tx.lockCards([...new Set(newEvents.map((event) => event.data.cardId))]));
    const at = now();
    const decisions = decide(newEvents, cards, at, newId);
    const activated = await tx.activate(decisions.activations, at);
    const failed = await tx.fail(decisions.failures, at);
    if (activated !== decisions.activations.length || failed !== decisions.failures.length) {
      // The cards are locked, so this cannot happen unless something writes them without the lock: stop here.
      throw new Error(
        `guarded transitions moved ${activated + failed} cards where ${decisions.activations.length + decisions.failures.length} were decided`,
      );
    }
    await tx.appendOutbox(decisions.cancels);
    await tx.markProviderCancelRequested([...new Set(decisions.cancels.map((cancel) => cancel.subject))], at);
    await tx.markProviderCancelled(decisions.cancelled, at);
    await tx.setInboxOutcomes(decisions.outcomes);
    return { ...decisions, newFlags };
  });
  if (result.changed.size > 0) {
    deps.cardsChanged([...result.changed]);
  }
  if (result.cancels.length > 0) {
    deps.outboxWritten();
  }
  if (result.sagaEnds.length > 0) {
    deps.sagaEnded?.(result.sagaEnds);
  }
  const decided = result.outcomes.values();
  return result.newFlags.map((isNewEvent) =>
    isNewEvent ? (decided.next().value?.outcome ?? 'duplicate') : 'duplicate',
  );
}
