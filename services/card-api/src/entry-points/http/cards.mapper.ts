import { createHash } from 'node:crypto';

import type { Card } from '@cards/contracts';

import type { CardRecord } from '../../domain/card';

/** The API view of a card; fields are listed one by one so a new column never leaks. */
export function toCardResponse(card: CardRecord): Card {
  return {
    id: card.id,
    color: card.color,
    status: card.status,
    last4: card.last4,
    expMonth: card.expMonth,
    expYear: card.expYear,
    failureCode: card.failureCode,
    failureMessage: card.failureMessage,
    createdAt: card.createdAt.toISOString(),
    updatedAt: card.updatedAt.toISOString(),
    activatedAt: card.activatedAt?.toISOString() ?? null,
  };
}

/** A strong ETag of the representation: it changes exactly when the body does. */
export function etagOf(body: unknown): string {
  return `"${createHash('sha256').update(JSON.stringify(body)).digest('base64url').slice(0, 27)}"`;
}

/** Whether an If-None-Match header matches `etag` (weak comparison, as RFC 9110 asks for If-None-Match). */
export function ifNoneMatchHits(header: string | undefined, etag: string): boolean {
  if (!header) {
    return false;
  }
  if (header.trim() === '*') {
    return true;
  }
  const bare = etag.replace(/^W\//, '');
  return header.split(',').some((candidate) => candidate.trim().replace(/^W\//, '') === bare);
}
