import type { Knex } from 'knex';

import type { InboxRecord } from '../domain/apply-provisioning-result';
import type { TimelineInboxRow } from '../domain/card-timeline';

/**
 * Records an event as received, with what the provider said in it (when it answered, after how many attempts, the
 * detail the timeline shows); false when it was already there (a redelivery or duplicate).
 */
export async function recordInbox(event: InboxRecord, tx: Knex.Transaction): Promise<boolean> {
  const inserted = await tx('inbox')
    .insert({
      event_id: event.id,
      type: event.type,
      card_id: event.cardId,
      outcome: 'received',
      occurred_at: event.occurredAt ?? null,
      attempts: event.attempts ?? null,
      detail: event.detail ? JSON.stringify(event.detail) : null,
    })
    .onConflict('event_id')
    .ignore()
    .returning('event_id');
  return inserted.length === 1;
}

/** Records what applying the event did. */
export async function setInboxOutcome(eventId: string, outcome: string, tx: Knex.Transaction): Promise<void> {
  await tx('inbox').where({ event_id: eventId }).update({ outcome });
}

/** One event applied to a card, as its inbox row records it. */
export type InboxHistoryEntry = TimelineInboxRow;

/** The events received for a card and what applying each did, in the order they were received. */
export async function listInboxByCard(cardId: string, db: Knex): Promise<InboxHistoryEntry[]> {
  const rows = await db('inbox')
    .where({ card_id: cardId })
    .orderBy([{ column: 'received_at' }, { column: 'event_id' }])
    .select<
      {
        event_id: string;
        type: string;
        outcome: string;
        received_at: Date;
        occurred_at: Date | null;
        attempts: number | null;
        detail: Record<string, unknown> | null;
      }[]
    >('event_id', 'type', 'outcome', 'received_at', 'occurred_at', 'attempts', 'detail');
  return rows.map((row) => ({
    eventId: row.event_id,
    type: row.type,
    outcome: row.outcome,
    receivedAt: row.received_at,
    occurredAt: row.occurred_at,
    attempts: row.attempts,
    detail: row.detail,
  }));
}
