import type { Knex } from 'knex';

import type { TimelineInboxRow } from '../domain/card-timeline';

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
