import { createHash, randomBytes, randomInt } from 'node:crypto';

import type { CardColor, ProviderCreateCardRequest } from '@cards/contracts';

/** A provider card as the provider stores it. Only last4 and expiry: never a full card number or CVV. */
export interface ProviderCardRecord {
  id: string;
  reference: string;
  color: CardColor;
  cardholderRef: string;
  status: 'ACTIVE' | 'CANCELLED';
  last4: string;
  expMonth: number;
  expYear: number;
  createdAt: Date;
  cancelledAt: Date | null;
}

/** A card about to be stored, with what makes a retry recognisable. */
export interface NewProviderCard {
  id: string;
  idempotencyKey: string;
  requestFingerprint: string;
  reference: string;
  color: CardColor;
  cardholderRef: string;
  last4: string;
  expMonth: number;
  expYear: number;
}

/** Filters of a card listing; `createdFrom` is inclusive and `createdTo` exclusive, so ranges tile. */
export interface CardListFilter {
  reference?: string;
  status?: ProviderCardRecord['status'];
  createdFrom?: Date;
  createdTo?: Date;
  limit: number;
}

/** Where the provider keeps its cards (data-access implements it; unit tests can hand in a fake). */
export interface ProviderCardStore {
  /** Inserts the card unless its idempotency key is taken; returns the stored card, or null when it was taken. */
  insertIfKeyFree(card: NewProviderCard): Promise<ProviderCardRecord | null>;
  /** The card stored under an idempotency key, with the fingerprint of the request that created it. */
  findByIdempotencyKey(key: string): Promise<{ card: ProviderCardRecord; requestFingerprint: string } | null>;
  findById(id: string): Promise<ProviderCardRecord | null>;
  list(filter: CardListFilter): Promise<ProviderCardRecord[]>;
  /** Cancels an ACTIVE card; returns it, or null when no ACTIVE card has that id. */
  cancelIfActive(id: string): Promise<ProviderCardRecord | null>;
}

/** Cards are valid for this many years from issue, like most debit cards. */
export const CARD_VALIDITY_YEARS = 3;

/**
 * A hash of the request body in canonical form (keys sorted), so the same request replayed with its fields in
 * another order is still recognised as the same, and a different one under the same key is caught.
 */
export function requestFingerprint(request: ProviderCreateCardRequest): string {
  const canonical = JSON.stringify(
    Object.fromEntries(Object.entries(request).sort(([left], [right]) => left.localeCompare(right))),
  );
  return createHash('sha256').update(canonical).digest('hex');
}

/** The expiry of a card issued at `issuedAt`: the same month, CARD_VALIDITY_YEARS later (UTC). */
export function expiryFrom(issuedAt: Date): { expMonth: number; expYear: number } {
  return { expMonth: issuedAt.getUTCMonth() + 1, expYear: issuedAt.getUTCFullYear() + CARD_VALIDITY_YEARS };
}

/** A fresh provider card id: opaque, prefixed so it is never mistaken for one of our (uuid) card ids. */
export function newProviderCardId(): string {
  return `pc_${randomBytes(12).toString('hex')}`;
}

/** The last four digits of a card number that, in this mock, exists nowhere else. */
export function randomLast4(): string {
  return String(randomInt(0, 10_000)).padStart(4, '0');
}

/** How a create ended: a new card, the card an earlier identical request created, or a key reused for another. */
export type IssueCardResult =
  | { outcome: 'created'; card: ProviderCardRecord }
  | { outcome: 'replayed'; card: ProviderCardRecord }
  | { outcome: 'key-reused' };

/**
 * Issues a card once per idempotency key. Concurrent identical requests race on the key's unique index: one
 * inserts, the others find its row. A request whose body differs from the first one's is refused, as retrying
 * callers must send the same request.
 */
export async function issueCard(
  input: { idempotencyKey: string; request: ProviderCreateCardRequest; now?: Date },
  deps: { store: ProviderCardStore },
): Promise<IssueCardResult> {
  const fingerprint = requestFingerprint(input.request);
  const inserted = await deps.store.insertIfKeyFree({
    id: newProviderCardId(),
    idempotencyKey: input.idempotencyKey,
    requestFingerprint: fingerprint,
    reference: input.request.reference,
    color: input.request.color,
    cardholderRef: input.request.cardholderRef,
    last4: randomLast4(),
    ...expiryFrom(input.now ?? new Date()),
  });
  if (inserted) {
    return { outcome: 'created', card: inserted };
  }
  const existing = await deps.store.findByIdempotencyKey(input.idempotencyKey);
  if (!existing) {
    // The key was taken a moment ago and is gone now: only a manual delete does that; say so rather than guess.
    throw new Error(`card of idempotency key ${JSON.stringify(input.idempotencyKey)} vanished`);
  }
  if (existing.requestFingerprint !== fingerprint) {
    return { outcome: 'key-reused' };
  }
  return { outcome: 'replayed', card: existing.card };
}

/**
 * Cancels a card; cancelling a cancelled card returns it as it is (with its first cancelledAt), so a retried
 * cancel is harmless. Returns null when no card has that id.
 */
export async function cancelCard(
  id: string,
  deps: { store: ProviderCardStore },
): Promise<ProviderCardRecord | null> {
  const cancelled = await deps.store.cancelIfActive(id);
  return cancelled ?? deps.store.findById(id);
}
