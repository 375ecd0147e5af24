import type { InboxHistoryEntry } from '../../data-access/inbox.repository';
import type { OutboxHistoryEntry } from '../../data-access/outbox.repository';
import type { CardRecord, UserRecord } from '../../domain/card';
import type { Out } from './dlq.commands';
import { token } from './topics-tail.command';

/** What `cards show` reads, all from the card database. */
export interface CardsShowDeps {
  findCard(id: string): Promise<CardRecord | undefined>;
  findUser(id: string): Promise<UserRecord | undefined>;
  outboxRows(cardId: string): Promise<OutboxHistoryEntry[]>;
  inboxRows(cardId: string): Promise<InboxHistoryEntry[]>;
}

/** Steps of a card's saga, in the order they happen when their times are equal. */
const KINDS = [
  'requested',
  'result',
  'outbox',
  'published',
  'activated',
  'failed',
  'cancel-requested',
  'cancelled',
] as const;
export type TimelineKind = (typeof KINDS)[number];

/** One step of a card's saga. */
export interface TimelineEntry {
  at: Date;
  kind: TimelineKind;
  summary: string;
  eventId?: string;
  type?: string;
}

/** A card, its owner, and its saga. */
export interface CardView {
  card: CardRecord;
  owner: UserRecord | undefined;
  timeline: TimelineEntry[];
}

function expiry(card: CardRecord): string {
  return card.expMonth === null || card.expYear === null
    ? '-'
    : `${String(card.expMonth).padStart(2, '0')}/${card.expYear}`;
}

/**
 * The saga of one card in time order, from what the database keeps: the card's own timestamps, its outbox rows
 * (written, published) and its inbox rows (results received, and what applying each did). The request comes
 * first whatever the clocks say (the card's created_at is rounded to milliseconds, so it can read later than the
 * outbox row written with it); steps at the same time keep the saga's order (a result before the command it
 * caused).
 */
export function sagaTimeline(
  card: CardRecord,
  outbox: readonly OutboxHistoryEntry[],
  inbox: readonly InboxHistoryEntry[],
): TimelineEntry[] {
  const steps: TimelineEntry[] = [];
  for (const row of outbox) {
    const waiting =
      row.publishedAt === null
        ? ` (not published yet: ${row.attempts} failed attempt(s)` +
          `${row.lastError === null ? '' : `, last error ${JSON.stringify(row.lastError)}`})`
        : '';
    steps.push({
      at: row.createdAt,
      kind: 'outbox',
      summary: `${row.type} written to the outbox${waiting}`,
      eventId: row.eventId,
      type: row.type,
    });
    if (row.publishedAt !== null) {
      const retried = row.attempts > 0 ? ` after ${row.attempts} failed attempt(s)` : '';
      steps.push({
        at: row.publishedAt,
        kind: 'published',
        summary: `${row.type} published to ${row.topic}${retried}`,
        eventId: row.eventId,
        type: row.type,
      });
    }
  }
  for (const row of inbox) {
    steps.push({
      at: row.receivedAt,
      kind: 'result',
      summary: `${row.type} received: ${row.outcome}`,
      eventId: row.eventId,
      type: row.type,
    });
  }
  if (card.activatedAt) {
    steps.push({
      at: card.activatedAt,
      kind: 'activated',
      summary: `ACTIVE: last4 ${card.last4 ?? '-'}, expires ${expiry(card)}, provider card ${card.providerCardId ?? '-'}`,
    });
  }
  if (card.failedAt) {
    steps.push({
      at: card.failedAt,
      kind: 'failed',
      summary: `FAILED: ${card.failureCode ?? '-'} ${JSON.stringify(card.failureMessage ?? '')}`,
    });
  }
  if (card.providerCancelRequestedAt) {
    steps.push({
      at: card.providerCancelRequestedAt,
      kind: 'cancel-requested',
      summary: 'compensation: cancellation of the provider card requested',
    });
  }
  if (card.providerCancelledAt) {
    steps.push({
      at: card.providerCancelledAt,
      kind: 'cancelled',
      summary: `compensation: provider card ${card.providerCardId ?? '-'} cancelled`,
    });
  }
  steps.sort((a, b) => a.at.getTime() - b.at.getTime() || KINDS.indexOf(a.kind) - KINDS.indexOf(b.kind));
  return [
    { at: card.createdAt, kind: 'requested', summary: `card requested: PENDING, ${card.color}` },
    ...steps,
  ];
}

function time(value: Date | null): string {
  return value?.toISOString() ?? '-';
}

/** The card and its timeline as lines an operator reads. */
export function formatCardView(view: CardView): string[] {
  const { card, owner } = view;
  const lines = [
    `card ${card.id}  ${card.status}  ${card.color}`,
    `  owner             ${owner ? `${token(owner.externalId)} (user ${owner.id}, ${owner.role})` : card.userId}`,
    `  card              last4 ${card.last4 ?? '-'}, expires ${expiry(card)}, provider card ${token(card.providerCardId)}`,
    `  failure           ${card.failureCode === null ? '-' : `${card.failureCode} ${JSON.stringify(card.failureMessage ?? '')}`}`,
    `  correlation id    ${token(card.correlationId)}`,
    `  created           ${time(card.createdAt)}`,
    `  activated         ${time(card.activatedAt)}`,
    `  failed            ${time(card.failedAt)}`,
    `  cancel requested  ${time(card.providerCancelRequestedAt)}`,
    `  cancelled         ${time(card.providerCancelledAt)}`,
    'timeline',
  ];
  const kindWidth = Math.max(...KINDS.map((kind) => kind.length));
  for (const entry of view.timeline) {
    const event = entry.eventId === undefined ? '' : `  event ${entry.eventId}`;
    lines.push(`  ${entry.at.toISOString()}  ${entry.kind.padEnd(kindWidth)}  ${entry.summary}${event}`);
  }
  if (!view.timeline.some((entry) => entry.kind === 'outbox')) {
    lines.push('  (no outbox rows: published rows are deleted after OUTBOX_RETENTION_HOURS)');
  }
  return lines;
}

/** The card and its timeline as one JSON document (`--json`). */
export function cardViewJson(view: CardView): string {
  const { card, owner } = view;
  const iso = (value: Date | null) => value?.toISOString() ?? null;
  return JSON.stringify({
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
      createdAt: iso(card.createdAt),
      updatedAt: iso(card.updatedAt),
      activatedAt: iso(card.activatedAt),
      failedAt: iso(card.failedAt),
      providerCancelRequestedAt: iso(card.providerCancelRequestedAt),
      providerCancelledAt: iso(card.providerCancelledAt),
    },
    timeline: view.timeline.map((entry) => ({ ...entry, at: entry.at.toISOString() })),
  });
}

/** `cards show <id> [--json]`: the card and its saga timeline; an unknown id is an error. */
export async function cardsShow(options: {
  cardId: string;
  deps: CardsShowDeps;
  json?: boolean;
  out: Out;
}): Promise<CardView> {
  const { deps } = options;
  const card = await deps.findCard(options.cardId);
  if (!card) {
    throw new Error(`card ${options.cardId} not found`);
  }
  const [owner, outbox, inbox] = await Promise.all([
    deps.findUser(card.userId),
    deps.outboxRows(card.id),
    deps.inboxRows(card.id),
  ]);
  const view: CardView = { card, owner, timeline: sagaTimeline(card, outbox, inbox) };
  if (options.json) {
    options.out(cardViewJson(view));
  } else {
    formatCardView(view).forEach((line) => {
      options.out(line);
    });
  }
  return view;
}
