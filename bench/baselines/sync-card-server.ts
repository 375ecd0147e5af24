/**
 * The seed's synchronous design, as a plain implementation would have it: POST /v1/cards calls the provider inside
 * the request, waits for its card, stores it ACTIVE and answers 201. node:http, pg and fetch; the caller's user id
 * arrives in X-User-Id (no token, which only favours this baseline). Environment: PORT, DATABASE_URL, POOL_MAX,
 * PROVIDER_URL.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';

import pg from 'pg';

const pool = new pg.Pool({
  connectionString: process.env['DATABASE_URL'],
  max: Number(process.env['POOL_MAX'] ?? 10),
});
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

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const userId = req.headers['x-user-id'];
    if (req.method === 'GET' && req.url === '/healthz') {
      res.writeHead(200).end('ok');
      return;
    }
    if (req.method !== 'POST' || req.url !== '/v1/cards' || typeof userId !== 'string') {
      res.writeHead(404).end();
      return;
    }
    const { color } = JSON.parse(Buffer.concat(chunks).toString()) as { color: string };
    issueCard(userId, color).then(
      (card) => {
        res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify(card));
      },
      (error: unknown) => {
        res.writeHead(502, { 'content-type': 'text/plain' }).end(String(error));
      },
    );
  });
});

server.listen(Number(process.env['PORT'] ?? 0), '127.0.0.1');
process.on('SIGTERM', () => {
  server.close();
  server.closeIdleConnections();
  void pool.end();
});
