import type { Knex } from 'knex';

/** Records an event as received; false when it was already there (a redelivery or duplicate). */
export async function recordInbox(
  event: { id: string; type: string; cardId: string },
  tx: Knex.Transaction,
): Promise<boolean> {
  const inserted = await tx('inbox')
    .insert({ event_id: event.id, type: event.type, card_id: event.cardId, outcome: 'received' })
    .onConflict('event_id')
    .ignore()
    .returning('event_id');
  return inserted.length === 1;
}

/** Records what applying the event did. */
export async function setInboxOutcome(eventId: string, outcome: string, tx: Knex.Transaction): Promise<void> {
  await tx('inbox').where({ event_id: eventId }).update({ outcome });
}
