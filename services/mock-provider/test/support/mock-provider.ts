import { randomUUID } from 'node:crypto';

import type { ProviderCreateCardRequest, ProviderFaults } from '@cards/contracts';
import { freeTcpPort, startServiceProcess, type ServiceProcess } from '@cards/test-support';
import type { Knex } from 'knex';

import { createDatabase } from '../../src/data-access/database';

/** mock-provider running as a real OS process, and the URL it answers on. */
export interface ProviderProcess {
  url: string;
  process: ServiceProcess;
}

/** Starts the compiled mock-provider on a free port against `databaseUrl` and waits for /readyz. */
export async function startProvider(
  name: string,
  databaseUrl: string,
  env: Record<string, string> = {},
): Promise<ProviderProcess> {
  const port = await freeTcpPort();
  const url = `http://127.0.0.1:${port}`;
  const process = await startServiceProcess({
    name,
    service: 'mock-provider',
    entry: 'main-provider',
    env: { HTTP_PORT: String(port), DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn', ...env },
    readyUrl: `${url}/readyz`,
  });
  return { url, process };
}

/** A valid create request with fresh ids; override any field. */
export function buildCreateRequest(
  overrides: Partial<ProviderCreateCardRequest> = {},
): ProviderCreateCardRequest {
  return { reference: randomUUID(), color: 'black', cardholderRef: randomUUID(), ...overrides };
}

/** POST /v1/cards with the given key and body (an object is sent as JSON; a string as is). */
export function postCard(
  url: string,
  idempotencyKey: string | undefined,
  body: object | string,
  init: RequestInit = {},
): Promise<Response> {
  return fetch(`${url}/v1/cards`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(idempotencyKey !== undefined && { 'idempotency-key': idempotencyKey }),
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    ...init,
  });
}

/** PUT /control/faults, failing the test unless the provider accepts the change. */
export async function setFaults(url: string, changes: Partial<ProviderFaults>): Promise<ProviderFaults> {
  const response = await fetch(`${url}/control/faults`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(changes),
  });
  if (response.status !== 200) {
    throw new Error(`PUT /control/faults answered ${response.status}: ${await response.text()}`);
  }
  return (await response.json()) as ProviderFaults;
}

/** A knex handle on the provider's schema of a test database, to look at its rows directly. */
export function providerDatabase(databaseUrl: string): Knex {
  return createDatabase({ url: databaseUrl, schema: 'mock_provider', poolMax: 2 });
}

/** How many provider cards a test database holds under a reference. */
export async function countCards(db: Knex, reference: string): Promise<number> {
  const result = await db.raw<{ rows: { count: number }[] }>(
    /* sql */ 'SELECT count(*)::int AS count FROM cards WHERE reference = ?',
    [reference],
  );
  return result.rows[0]?.count ?? 0;
}
