import type { CardRecord } from '../../domain/card';
import type { Out } from './dlq.commands';

/** The most cards `cards stuck` prints: enough to see a pattern, few enough to read. */
export const STUCK_CARDS_SHOWN = 100;

/**
 * `cards stuck`: cards still PENDING after `olderThanSeconds`, oldest first. A saga normally ends within seconds;
 * a card here waits on an outage (its deadline will end it) or on something an operator should look at
 * (`cards show <id>`).
 */
export async function cardsStuck(options: {
  olderThanSeconds: number;
  /** PENDING cards created before the given time, oldest first, at most `limit`. */
  pendingBefore: (before: Date, limit: number) => Promise<CardRecord[]>;
  now?: Date;
  json?: boolean;
  out: Out;
}): Promise<CardRecord[]> {
  const now = options.now ?? new Date();
  const cards = await options.pendingBefore(
    new Date(now.getTime() - options.olderThanSeconds * 1000),
    STUCK_CARDS_SHOWN,
  );
  for (const card of cards) {
    const ageSeconds = Math.round((now.getTime() - card.createdAt.getTime()) / 1000);
    options.out(
      options.json
        ? JSON.stringify({
            id: card.id,
            userId: card.userId,
            color: card.color,
            createdAt: card.createdAt.toISOString(),
            ageSeconds,
            correlationId: card.correlationId,
          })
        : `${card.id} PENDING for ${ageSeconds}s since ${card.createdAt.toISOString()} user=${card.userId} ` +
            `request=${card.correlationId ?? '-'}`,
    );
  }
  if (!options.json) {
    const more = cards.length === STUCK_CARDS_SHOWN ? ` (the oldest ${STUCK_CARDS_SHOWN} shown)` : '';
    options.out(`# ${cards.length} card(s) PENDING for over ${options.olderThanSeconds}s${more}`);
  }
  return cards;
}
