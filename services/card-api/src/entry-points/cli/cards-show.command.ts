import { TIMELINE_KINDS } from '@cards/contracts';

import { expiryText } from '../../domain/card-timeline';
import { cardViewDocument, loadCardView, type CardView, type CardViewDeps } from '../../domain/card-view';
import type { Out } from './dlq.commands';
import { token } from './topics-tail.command';

export type { CardView } from '../../domain/card-view';

/** What `cards show` reads, all from the card database. */
export type CardsShowDeps = CardViewDeps;

function time(value: Date | null): string {
  return value?.toISOString() ?? '-';
}

/** The card and its timeline as lines an operator reads. */
export function formatCardView(view: CardView): string[] {
  const { card, owner } = view;
  const lines = [
    `card ${card.id}  ${card.status}  ${card.color}`,
    `  owner             ${owner ? `${token(owner.externalId)} (user ${owner.id}, ${owner.role})` : card.userId}`,
    `  card              last4 ${card.last4 ?? '-'}, expires ${expiryText(card)}, provider card ${token(card.providerCardId)}`,
    `  failure           ${card.failureCode === null ? '-' : `${card.failureCode} ${JSON.stringify(card.failureMessage ?? '')}`}`,
    `  correlation id    ${token(card.correlationId)}`,
    `  created           ${time(card.createdAt)}`,
    `  activated         ${time(card.activatedAt)}`,
    `  failed            ${time(card.failedAt)}`,
    `  cancel requested  ${time(card.providerCancelRequestedAt)}`,
    `  cancelled         ${time(card.providerCancelledAt)}`,
    'timeline',
  ];
  const kindWidth = Math.max(...TIMELINE_KINDS.map((kind) => kind.length));
  for (const entry of view.timeline) {
    const event = entry.eventId === undefined ? '' : `  event ${entry.eventId}`;
    lines.push(`  ${entry.at.toISOString()}  ${entry.kind.padEnd(kindWidth)}  ${entry.summary}${event}`);
  }
  if (!view.timeline.some((entry) => entry.kind === 'outbox')) {
    lines.push('  (no outbox rows: published rows are deleted after OUTBOX_RETENTION_HOURS)');
  }
  return lines;
}

/** The card and its timeline as one JSON document (`--json`), the same as GET /v1/admin/cards/{id} answers. */
export function cardViewJson(view: CardView): string {
  return JSON.stringify(cardViewDocument(view));
}

/** `cards show <id> [--json]`: the card and its saga timeline; an unknown id is an error. */
export async function cardsShow(options: {
  cardId: string;
  deps: CardsShowDeps;
  json?: boolean;
  out: Out;
}): Promise<CardView> {
  const view = await loadCardView(options.cardId, options.deps);
  if (!view) {
    throw new Error(`card ${options.cardId} not found`);
  }
  if (options.json) {
    options.out(cardViewJson(view));
  } else {
    formatCardView(view).forEach((line) => {
      options.out(line);
    });
  }
  return view;
}
