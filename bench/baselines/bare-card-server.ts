/**
 * The ceiling of this stack for accepting a card: node:http and pg, nothing else. POST /v1/cards runs exactly the
 * SQL card-api runs to accept a card (baselines/accept-sql.ts finds it: card-api's own statement or SQL function
 * when it has one, else its statements as of 2026-12-04) on a pool of the same size, and answers 202 with the card.
 * No framework, no validation library, no token: the caller arrives in X-User-Id and X-User-Sub (the token's
 * subject, which card-api looks the user up by). Environment: PORT, DATABASE_URL, POOL_MAX, TOPIC.
 */
import path from 'node:path';

import { acceptCard, resolveAcceptSql } from './accept-sql.ts';
import { pool, serveCardRequests } from './card-server.ts';

const topic = process.env['TOPIC'] ?? 'bench.bare.commands';
const sql = await resolveAcceptSql(path.resolve(import.meta.dirname, '../..'), pool);
process.stdout.write(`bare-card-server: accept SQL from ${sql.source}\n`);

serveCardRequests(async (headers, color) => {
  const userId = headers['x-user-id'];
  const externalId = headers['x-user-sub'];
  if (typeof userId !== 'string' || typeof externalId !== 'string') {
    throw Object.assign(new Error('X-User-Id and X-User-Sub are required'), { status: 401 });
  }
  const card = await acceptCard(sql, pool, { userId, externalId, color, topic });
  return {
    status: 202,
    headers: { location: `/v1/cards/${card.id}` },
    body: { id: card.id, color, status: 'PENDING' },
  };
}, 500);
