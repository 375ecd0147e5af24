import { EventType, TIMELINE_KINDS, type TimelineKind } from '@cards/contracts';

import type { CardRecord } from './card';

export type { TimelineKind } from '@cards/contracts';

/** One outbox row of a card: a command or event written with a change of the card, and when it was published. */
export interface TimelineOutboxRow {
  id: string;
  eventId: string;
  topic: string;
  type: string;
  createdAt: Date;
  publishedAt: Date | null;
  attempts: number;
  lastError: string | null;
}

/**
 * One inbox row of a card: an event received, and what applying it did. The provider's side (when it answered,
 * after how many attempts, what it said) is absent from rows written before the inbox kept it.
 */
export interface TimelineInboxRow {
  eventId: string;
  type: string;
  outcome: string;
  receivedAt: Date;
  occurredAt?: Date | null;
  attempts?: number | null;
  detail?: Record<string, unknown> | null;
}

/** One step of a card's saga. */
export interface TimelineEntry {
  at: Date;
  kind: TimelineKind;
  summary: string;
  eventId?: string;
  type?: string;
  /** On the `requested` step: the X-Request-Id of the card request (kept as the card's correlation id). */
  requestId?: string;
}

/** The card's expiry as MM/YYYY, or `-`. */
export function expiryText(card: Pick<CardRecord, 'expMonth' | 'expYear'>): string {
  return card.expMonth === null || card.expYear === null
    ? '-'
    : `${String(card.expMonth).padStart(2, '0')}/${card.expYear}`;
}

function text(detail: Record<string, unknown> | null | undefined, name: string): string | undefined {
  const value = detail?.[name];
  return typeof value === 'string' ? value : undefined;
}

/** What the provider did, from a result's inbox row; undefined when the row does not say when (an old row). */
function providerStep(row: TimelineInboxRow): TimelineEntry | undefined {
  if (!row.occurredAt) {
    return undefined;
  }
  const after = typeof row.attempts === 'number' ? ` after ${row.attempts} attempt(s)` : '';
  const providerCard = text(row.detail, 'providerCardId');
  let summary: string;
  switch (row.type) {
    case EventType.provisioned:
      summary = `provider call succeeded${after}${providerCard ? `: provider card ${providerCard}` : ''}`;
      break;
    case EventType.provisioningFailed: {
      const code = text(row.detail, 'code');
      const message = text(row.detail, 'message');
      summary =
        `provider call failed${after}` +
        (code ? `: ${code}` : '') +
        (message === undefined ? '' : ` ${JSON.stringify(message)}`);
      break;
    }
    case EventType.cancelled:
      summary = `provider cancelled its card${providerCard ? ` ${providerCard}` : ''}`;
      break;
    default:
      return undefined;
  }
  return { at: row.occurredAt, kind: 'provider', summary, eventId: row.eventId, type: row.type };
}

/**
 * The saga of one card in time order, from what the database keeps: the card's own timestamps, its outbox rows
 * (written, published, publish retries) and its inbox rows (what the provider answered and when, after how many
 * attempts; when the result was received and what applying it did). The request comes first whatever the clocks
 * say (the card's created_at is rounded to milliseconds, so it can read later than the outbox row written with
 * it); steps at the same time keep the saga's order (a result before the command it caused). Provider steps are at
 * the provider-worker's clock, every other step at the database's. Used by `cards show` and
 * `GET /v1/admin/cards/{id}` alike.
 */
export function sagaTimeline(
  card: CardRecord,
  outbox: readonly TimelineOutboxRow[],
  inbox: readonly TimelineInboxRow[],
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
    const provider = providerStep(row);
    if (provider) {
      steps.push(provider);
    }
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
      summary: `ACTIVE: last4 ${card.last4 ?? '-'}, expires ${expiryText(card)}, provider card ${card.providerCardId ?? '-'}`,
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
  const order = (kind: TimelineKind): number => TIMELINE_KINDS.indexOf(kind);
  steps.sort((a, b) => a.at.getTime() - b.at.getTime() || order(a.kind) - order(b.kind));
  return [
    {
      at: card.createdAt,
      kind: 'requested',
      summary: `card requested: PENDING, ${card.color}`,
      ...(card.correlationId !== null && { requestId: card.correlationId }),
    },
    ...steps,
  ];
}
