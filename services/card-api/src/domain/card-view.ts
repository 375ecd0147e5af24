import type { AdminCardDetail } from '@cards/contracts';

import type { CardRecord, UserRecord } from './card';
import {
  sagaTimeline,
  type TimelineEntry,
  type TimelineInboxRow,
  type TimelineOutboxRow,
} from './card-timeline';

/** What a card's view is read from, all in the card database. */
export interface CardViewDeps {
  findCard(id: string): Promise<CardRecord | undefined>;
  findUser(id: string): Promise<UserRecord | undefined>;
  outboxRows(cardId: string): Promise<TimelineOutboxRow[]>;
  inboxRows(cardId: string): Promise<TimelineInboxRow[]>;
}

/** A card, its owner, and its saga. */
export interface CardView {
  card: CardRecord;
  owner: UserRecord | undefined;
  timeline: TimelineEntry[];
}

/** Reads a card with its owner and builds its saga timeline; undefined for an unknown card. */
export async function loadCardView(cardId: string, deps: CardViewDeps): Promise<CardView | undefined> {
  const card = await deps.findCard(cardId);
  if (!card) {
    return undefined;
  }
  const [owner, outbox, inbox] = await Promise.all([
    deps.findUser(card.userId),
    deps.outboxRows(card.id),
    deps.inboxRows(card.id),
  ]);
  return { card, owner, timeline: sagaTimeline(card, outbox, inbox) };
}

/**
 * The card and its timeline as one JSON document: what `cards show --json` prints and `GET /v1/admin/cards/{id}`
 * answers. Fields are listed one by one, so a new column never leaks.
 */
export function cardViewDocument(view: CardView): AdminCardDetail {
  const { card, owner } = view;
  const iso = (value: Date | null) => value?.toISOString() ?? null;
  return {
    card: {
      id: card.id,
      status: card.status,
      color: card.color,
      userId: card.userId,
      ownerExternalId: owner?.externalId ?? null,
      providerCardId: card.providerCardId,
      last4: card.last4,
      expMonth: card.expMonth,
      expYear: card.expYear,
      failureCode: card.failureCode,
      failureMessage: card.failureMessage,
      correlationId: card.correlationId,
      createdAt: card.createdAt.toISOString(),
      updatedAt: card.updatedAt.toISOString(),
      activatedAt: iso(card.activatedAt),
      failedAt: iso(card.failedAt),
      providerCancelRequestedAt: iso(card.providerCancelRequestedAt),
      providerCancelledAt: iso(card.providerCancelledAt),
    },
    timeline: view.timeline.map((entry) => ({
      at: entry.at.toISOString(),
      kind: entry.kind,
      summary: entry.summary,
      ...(entry.eventId !== undefined && { eventId: entry.eventId }),
      ...(entry.type !== undefined && { type: entry.type }),
      ...(entry.requestId !== undefined && { requestId: entry.requestId }),
    })),
  };
}
