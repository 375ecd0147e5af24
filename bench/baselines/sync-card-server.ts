/**
 * The seed's synchronous design, as a plain implementation would have it: POST /v1/cards calls the provider inside
 * the request, waits for its card, stores it ACTIVE and answers 201. node:http, pg and fetch; the caller's user id
 * arrives in X-User-Id (no token, which only favours this baseline). Environment: PORT, DATABASE_URL, POOL_MAX,
 * PROVIDER_URL.
 */
import { randomUUID } from 'node:crypto';

import { pool, serveCardRequests } from './card-server.ts';

const providerUrl = process.env['PROVIDER_URL'] ?? 'http://127.0.0.1:3200';

interface ProviderCard {
  id: string;
  last4: string;
  expMonth: number;
  expYear: number;
}

async function issueCard(userId: string, color: string): Promise<{ id: string; status: string }> {
  const id = randomUUID();
  const response = await fetch(`${providerUrl}/v1/cards`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': id },
    body: JSON.stringify({ reference: id, color, cardholderRef: userId }),
    signal: AbortSignal.timeout(3000),
  });
  if (response.status !== 201 && response.status !== 200) {
    throw new Error(`provider answered ${response.status}`);
  }
  const card = (await response.json()) as ProviderCard;
  await pool.query(
    /* sql */ `INSERT INTO cards (id, user_id, color, status, provider_card_id, last4, exp_month, exp_year, activated_at)
               VALUES ($1, $2, $3, 'ACTIVE', $4, $5, $6, $7, now())`,
    [id, userId, color, card.id, card.last4, card.expMonth, card.expYear],
  );
  return { id, status: 'ACTIVE' };
}

// A provider failure is a bad gateway: the synchronous design has nothing else to answer.
serveCardRequests(async (userId, color) => ({ status: 201, body: await issueCard(userId, color) }), 502);
