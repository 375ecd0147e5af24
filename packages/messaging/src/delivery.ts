import type { AnyCardEvent } from '@cards/contracts';

/** Where a consumed event came from. */
export interface DeliveryContext {
  topic: string;
  partition: number;
  offset: string;
  attempt: number;
  /**
   * Aborted once the consumer starts stopping: a handler may stop waiting (a backoff) and throw a deferral, which
   * leaves the message uncommitted for whoever consumes the partition next.
   */
  signal: AbortSignal;
}

/** Signals a consumer emits, so tests and metrics wait on facts instead of time. */
export interface ConsumerSignals {
  handled: [event: AnyCardEvent, context: DeliveryContext];
  retried: [event: AnyCardEvent, context: DeliveryContext, error: unknown];
  'dead-lettered': [reason: string, context: DeliveryContext];
  /** The handler said "not now" (see `isDeferral`): the message waits, uncommitted, and is handled again later. */
  deferred: [event: AnyCardEvent, context: DeliveryContext, error: unknown];
  /**
   * A dependency is away (see `isUnavailable`): the message (or batch) waits, uncommitted and uncounted, and is
   * handled again after a backoff; `round` counts the waits of this outage.
   */
  unavailable: [event: AnyCardEvent, context: DeliveryContext, error: unknown, round: number];
  /** The consumer stopped before the message was done: it stays uncommitted and is redelivered to the next owner. */
  abandoned: [context: Omit<DeliveryContext, 'signal'>];
  'group-joined': [];
}

/** One event of a batch, with where it came from. */
export interface BatchDelivery {
  event: AnyCardEvent;
  context: DeliveryContext;
}

/** What came of one message: done (handled), to be dead-lettered, or left uncommitted because the consumer stops. */
export type MessageOutcome =
  | { kind: 'handled' }
  | { kind: 'dead-letter'; reason: string; context: DeliveryContext }
  | { kind: 'abandoned'; context: DeliveryContext };
