/**
 * The seed's synchronous design, as a plain implementation would have it, doing what ours does for a card: the same
 * authentication (an HS256 bearer token verified with jose, the user looked up by its subject), the same limit
 * check and transaction (baselines/accept-sql.ts: card-api's accept SQL), then, unlike ours, the provider called
 * inside the request; its card is stored ACTIVE (the update our card-events consumer makes) and the request
 * answered 201. node:http, pg and fetch. Environment: PORT, DATABASE_URL, POOL_MAX, PROVIDER_URL, TOPIC,
 * JWT_SECRET, JWT_ISSUER, JWT_AUDIENCE.
 */
import path from 'node:path';

import { jwtVerify } from 'jose';

import { acceptCard, resolveAcceptSql } from './accept-sql.ts';
import { pool, serveCardRequests } from './card-server.ts';

const providerUrl = process.env['PROVIDER_URL'] ?? 'http://127.0.0.1:3200';
const topic = process.env['TOPIC'] ?? 'bench.sync.commands';
const key = new TextEncoder().encode(process.env['JWT_SECRET'] ?? '');
const verifyOptions = {
  issuer: process.env['JWT_ISSUER'] ?? 'card-issuing-bench',
  audience: process.env['JWT_AUDIENCE'] ?? 'card-api',
  algorithms: ['HS256'],
};
const sql = await resolveAcceptSql(path.resolve(import.meta.dirname, '../..'), pool);
process.stdout.write(`sync-card-server: accept SQL from ${sql.source}\n`);

interface ProviderCard {
  id: string;
  last4: string;
  expMonth: number;
  expYear: number;
}

const unauthorised = (): Error => Object.assign(new Error('unauthorised'), { status: 401 });

async function issueCard(
  authorization: string | undefined,
  color: string,
): Promise<{ id: string; status: string }> {
  if (!authorization?.startsWith('Bearer ')) {
    throw unauthorised();
  }
  const { payload } = await jwtVerify(authorization.slice(7), key, verifyOptions).catch(() => {
    throw unauthorised();
  });
  if (!payload.sub) {
    throw unauthorised();
  }
  // The lookup by subject is the accept SQL's first statement (the fallback) or inside its one statement.
  const { id, userId } = await acceptCard(sql, pool, { userId: '', externalId: payload.sub, color, topic });
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
    /* sql */ `UPDATE cards SET status = 'ACTIVE', provider_card_id = $2, last4 = $3, exp_month = $4, exp_year = $5,
                               activated_at = now(), updated_at = now()
               WHERE id = $1 AND status = 'PENDING'`,
    [id, card.id, card.last4, card.expMonth, card.expYear],
  );
  return { id, status: 'ACTIVE' };
}

// A provider failure is a bad gateway: the synchronous design has nothing else to answer.
serveCardRequests(
  async (headers, color) => ({ status: 201, body: await issueCard(headers.authorization, color) }),
  502,
);
