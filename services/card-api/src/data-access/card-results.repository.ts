import type { Knex } from 'knex';

import type { Activation, ApplyOutcome, Failure, InboxRecord } from '../domain/apply-provisioning-result';
import type { CardRecord } from '../domain/card';
import { cardRecordFromRow, type CardRow } from './cards.repository';

/*
 * Set-based statements for applying a batch of provider results: each takes the whole batch as one jsonb
 * parameter (jsonb_to_recordset), so a batch of hundreds of results costs the same few round trips as one.
 */

/** Records events in the inbox; returns the ids that were new (the rest were there already: redeliveries). */
export async function recordInboxBatch(
  events: readonly InboxRecord[],
  tx: Knex.Transaction,
): Promise<ReadonlySet<string>> {
  if (events.length === 0) {
    return new Set();
  }
  const rows = events.map((event) => ({
    event_id: event.id,
    type: event.type,
    card_id: event.cardId,
    occurred_at: event.occurredAt?.toISOString() ?? null,
    attempts: event.attempts ?? null,
    detail: event.detail ?? null,
  }));
  const result = await tx.raw<{ rows: { event_id: string }[] }>(
    /* sql */ `
      INSERT INTO inbox (event_id, type, card_id, outcome, occurred_at, attempts, detail)
      SELECT v.event_id, v.type, v.card_id, 'received', v.occurred_at, v.attempts, v.detail
        FROM jsonb_to_recordset(?::jsonb)
          AS v(event_id text, type text, card_id uuid, occurred_at timestamptz, attempts integer, detail jsonb)
      ON CONFLICT (event_id) DO NOTHING
      RETURNING event_id`,
    [JSON.stringify(rows)],
  );
  return new Set(result.rows.map((row) => row.event_id));
}

/** The cards with these ids, locked (FOR UPDATE) until the transaction ends; in id order, so batches never deadlock. */
export async function lockCards(
  cardIds: readonly string[],
  tx: Knex.Transaction,
): Promise<ReadonlyMap<string, CardRecord>> {
  if (cardIds.length === 0) {
    return new Map();
  }
  const result = await tx.raw<{ rows: CardRow[] }>(
    /* sql */ 'SELECT * FROM cards WHERE id = ANY(?::uuid[]) ORDER BY id FOR UPDATE',
    [`{${cardIds.join(',')}}`],
  );
  return new Map(result.rows.map((row) => [row.id, cardRecordFromRow(row)]));
}

/** The guarded transitions PENDING → ACTIVE of a batch; returns how many cards moved. */
export async function activateCards(
  activations: readonly Activation[],
  at: Date,
  tx: Knex.Transaction,
): Promise<number> {
  if (activations.length === 0) {
    return 0;
  }
  const rows = activations.map(({ cardId, details }) => ({
    id: cardId,
    provider_card_id: details.providerCardId,
    last4: details.last4,
    exp_month: details.expMonth,
    exp_year: details.expYear,
  }));
  const result = await tx.raw<{ rowCount: number | null }>(
    /* sql */ `
      UPDATE cards c
         SET status = 'ACTIVE', provider_card_id = v.provider_card_id, last4 = v.last4,
             exp_month = v.exp_month, exp_year = v.exp_year, activated_at = ?, updated_at = ?
        FROM jsonb_to_recordset(?::jsonb)
          AS v(id uuid, provider_card_id text, last4 text, exp_month smallint, exp_year smallint)
       WHERE c.id = v.id AND c.status = 'PENDING'`,
    [at, at, JSON.stringify(rows)],
  );
  return result.rowCount ?? 0;
}

/** The guarded transitions PENDING → FAILED of a batch; returns how many cards moved. */
export async function failCards(
  failures: readonly Failure[],
  at: Date,
  tx: Knex.Transaction,
): Promise<number> {
  if (failures.length === 0) {
    return 0;
  }
  const rows = failures.map(({ cardId, code, message }) => ({
    id: cardId,
    failure_code: code,
    failure_message: message.slice(0, 1000),
  }));
  const result = await tx.raw<{ rowCount: number | null }>(
    /* sql */ `
      UPDATE cards c
         SET status = 'FAILED', failure_code = v.failure_code, failure_message = v.failure_message,
             failed_at = ?, updated_at = ?
        FROM jsonb_to_recordset(?::jsonb) AS v(id uuid, failure_code text, failure_message text)
       WHERE c.id = v.id AND c.status = 'PENDING'`,
    [at, at, JSON.stringify(rows)],
  );
  return result.rowCount ?? 0;
}

/** Records that the provider was asked to cancel these cards' provider cards. */
export async function markProviderCancelRequested(
  cardIds: readonly string[],
  at: Date,
  tx: Knex.Transaction,
): Promise<void> {
  if (cardIds.length === 0) {
    return;
  }
  await tx.raw(
    /* sql */ `
      UPDATE cards SET provider_cancel_requested_at = ?, updated_at = ?
       WHERE id = ANY(?::uuid[])`,
    [at, at, `{${cardIds.join(',')}}`],
  );
}

/** Records that the provider cancelled these cards' provider cards (the first provider card id known is kept). */
export async function markProviderCancelled(
  cancellations: readonly { cardId: string; providerCardId: string }[],
  at: Date,
  tx: Knex.Transaction,
): Promise<void> {
  if (cancellations.length === 0) {
    return;
  }
  // One row per card: an UPDATE … FROM that matches a row twice would apply an arbitrary one of them.
  const firstPerCard = new Map<string, string>();
  for (const { cardId, providerCardId } of cancellations) {
    if (!firstPerCard.has(cardId)) {
      firstPerCard.set(cardId, providerCardId);
    }
  }
  const rows = [...firstPerCard].map(([id, providerCardId]) => ({ id, provider_card_id: providerCardId }));
  await tx.raw(
    /* sql */ `
      UPDATE cards c
         SET provider_cancelled_at = ?, provider_card_id = COALESCE(c.provider_card_id, v.provider_card_id),
             updated_at = ?
        FROM jsonb_to_recordset(?::jsonb) AS v(id uuid, provider_card_id text)
       WHERE c.id = v.id`,
    [at, at, JSON.stringify(rows)],
  );
}

/** Records what applying each event did. */
export async function setInboxOutcomes(
  outcomes: readonly { eventId: string; outcome: ApplyOutcome }[],
  tx: Knex.Transaction,
): Promise<void> {
  if (outcomes.length === 0) {
    return;
  }
  await tx.raw(
    /* sql */ `
      UPDATE inbox i SET outcome = v.outcome
        FROM jsonb_to_recordset(?::jsonb) AS v(event_id text, outcome text)
       WHERE i.event_id = v.event_id`,
    [JSON.stringify(outcomes.map(({ eventId, outcome }) => ({ event_id: eventId, outcome })))],
  );
}
