/**
 * The ceiling of this stack for accepting a card: node:http and pg, nothing else. POST /v1/cards runs the same SQL
 * transaction as card-api's requestCard (lock the user, count their cards, insert the card, insert the outbox
 * row) on a pool of the same size, and answers 202 with the card. No framework, no validation library, no token:
 * the caller's user id arrives in X-User-Id. Environment: PORT, DATABASE_URL, POOL_MAX, TOPIC.
 */
import { randomUUID } from 'node:crypto';

import { pool, serveCardRequests } from './card-server.ts';

const topic = process.env['TOPIC'] ?? 'bench.bare.commands';

interface CardRow {
  id: string;
  color: string;
  status: string;
  created_at: Date;
}

async function acceptCard(userId: string, color: string): Promise<CardRow> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(/* sql */ 'SELECT 1 FROM users WHERE id = $1 FOR UPDATE', [userId]);
    await client.query(/* sql */ `SELECT count(*) FROM cards WHERE user_id = $1 AND status <> 'FAILED'`, [
      userId,
    ]);
    const inserted = await client.query<CardRow>(
      /* sql */ 'INSERT INTO cards (id, user_id, color) VALUES ($1, $2, $3) RETURNING id, color, status, created_at',
      [randomUUID(), userId, color],
    );
    const card = inserted.rows[0];
    if (!card) {
      throw new Error('insert returned no row');
    }
    const eventId = randomUUID();
    const event = {
      id: eventId,
      type: 'card.provision.requested',
      source: 'card-api',
      time: new Date().toISOString(),
      subject: card.id,
      data: { cardId: card.id, color, cardholderRef: userId, requestedAt: card.created_at.toISOString() },
    };
    await client.query(
      /* sql */ 'INSERT INTO outbox (event_id, topic, key, type, event) VALUES ($1, $2, $3, $4, $5)',
      [eventId, topic, card.id, event.type, JSON.stringify(event)],
    );
    await client.query('COMMIT');
    return card;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

serveCardRequests(async (userId, color) => {
  const card = await acceptCard(userId, color);
  return {
    status: 202,
    headers: { location: `/v1/cards/${card.id}` },
    body: { id: card.id, color: card.color, status: card.status, createdAt: card.created_at },
  };
}, 500);
