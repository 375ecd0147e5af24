import type { ProviderCard, ProviderCreateCardRequest } from '@cards/contracts';

/** What a create call came to; the adapter maps HTTP onto these, so the use cases never see a status code. */
export type CreateCardOutcome =
  | { kind: 'created'; card: ProviderCard }
  /** A 4xx: the provider refused the request itself, so asking again cannot help. */
  | { kind: 'rejected'; status: number; message: string }
  /** The provider answered something its contract does not allow (a bad body, an unexpected status). */
  | { kind: 'contract-violation'; reason: string }
  /** A 5xx, a refused or broken connection, a timeout: worth asking again. */
  | { kind: 'unavailable'; reason: string };

/** What a cancel call came to. */
export type CancelCardOutcome =
  | { kind: 'cancelled' }
  /** The provider does not know the card: nothing is left to cancel. */
  | { kind: 'not-found' }
  | { kind: 'rejected'; status: number; message: string }
  | { kind: 'contract-violation'; reason: string }
  | { kind: 'unavailable'; reason: string };

/** What a lookup by our reference came to. */
export type FindCardOutcome =
  /** The provider's cards for the reference (normally one; none when `not-found`). */
  | { kind: 'found'; cards: ProviderCard[] }
  | { kind: 'not-found' }
  | { kind: 'contract-violation'; reason: string }
  | { kind: 'unavailable'; reason: string };

/** What ties a provider call to the card's saga in the provider's logs and traces. */
export interface CallTrace {
  /** The request id of the HTTP request that started the saga; sent as X-Request-Id. */
  correlationId?: string | undefined;
  /** The W3C traceparent of the worker's span handling the command. */
  traceparent?: string | undefined;
}

/** The card provider, as the use cases need it. One call per method; retries are the use case's decision. */
export interface ProviderClient {
  /** Orders a card; the provider answers the same card again for the same idempotency key. */
  createCard(
    request: ProviderCreateCardRequest,
    idempotencyKey: string,
    trace?: CallTrace,
  ): Promise<CreateCardOutcome>;
  /** Cancels a provider card; cancelling a cancelled card is not an error. */
  cancelCard(providerCardId: string, trace?: CallTrace): Promise<CancelCardOutcome>;
  /**
   * The provider's cards created for our reference (our card id), whatever their status: asked before a card is
   * failed, in case the provider made it while its answer was lost or broken.
   */
  findCardsByReference(reference: string, trace?: CallTrace): Promise<FindCardOutcome>;
}
