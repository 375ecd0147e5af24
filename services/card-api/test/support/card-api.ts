import { randomUUID } from 'node:crypto';

import { allTopicsFor } from './topics';
import { createTestDatabase, testKafkaBrokers, uniqueSuffix, type TestDatabase } from '@cards/test-support';
import type { Knex } from 'knex';

import { loadConfig, type CardApiConfig } from '../../src/config';
import { createDatabase, migrateToLatest } from '../../src/data-access/database';
import { start as startApi, type RunningApi } from '../../src/main-api';
import { mintToken } from '../../src/entry-points/cli/dev-token';

/** A database of the test file's own, migrated to the latest schema. */
export async function createMigratedDatabase(label: string): Promise<TestDatabase> {
  const database = await createTestDatabase(label);
  const db = createDatabase({ url: database.url, poolMax: 1 });
  try {
    await migrateToLatest(db);
  } finally {
    await db.destroy();
  }
  return database;
}

/** A card-api config for tests: the given database, the test broker, any free ports, no log noise. */
export function testConfig(databaseUrl: string, overrides: Record<string, string> = {}): CardApiConfig {
  return loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    HTTP_PORT: '0',
    OUTBOX_RELAY_HTTP_PORT: '0',
    CARD_EVENTS_HTTP_PORT: '0',
    DATABASE_URL: databaseUrl,
    KAFKA_BROKERS: testKafkaBrokers().join(','),
    // Scheduled reconciliation would compare this test's cards with whatever provider answers on PROVIDER_URL.
    RECONCILIATION_INTERVAL_MS: '0',
    // Tests create cards faster than any user would; the abuse limits have tests of their own.
    RATE_LIMIT_CARD_CREATE_PER_USER: '100000',
    RATE_LIMIT_CARD_CREATE_PER_IP: '100000',
    ...overrides,
  });
}

/** A card-api under test: its own database and topics, the API in this process, helpers to act as users. */
export interface CardApiHarness {
  config: CardApiConfig;
  api: RunningApi;
  db: Knex;
  database: TestDatabase;
  /** Topic-related env for processes that must share this harness's topics. */
  topicEnv: Record<string, string>;
  adminToken: string;
  /** Creates a user through the admin API and returns it with a token. */
  createUser(): Promise<{ id: string; externalId: string; token: string }>;
  request(path: string, init?: RequestInit & { token?: string }): Promise<Response>;
  stop(): Promise<void>;
}

/** Starts a card-api over a fresh database and fresh topics; `overrides` become its environment. */
export async function startCardApi(
  label: string,
  overrides: Record<string, string> = {},
): Promise<CardApiHarness> {
  const suffix = uniqueSuffix();
  const topicEnv = {
    TOPIC_PROVISIONING_COMMANDS: `test.commands.${suffix}`,
    TOPIC_PROVISIONING_RESULTS: `test.results.${suffix}`,
    CARD_EVENTS_GROUP_ID: `test.card-events.${suffix}`,
  };
  await allTopicsFor(topicEnv);
  const database = await createMigratedDatabase(label);
  const config = testConfig(database.url, { ...topicEnv, ...overrides });
  const api = await startApi(config);
  const db = createDatabase({ url: database.url, poolMax: 4 });
  const adminToken = await mintToken(config.ADMIN_EXTERNAL_ID, config);

  const request = (path: string, init: RequestInit & { token?: string } = {}): Promise<Response> => {
    const headers = new Headers(init.headers);
    if (init.token) {
      headers.set('authorization', `Bearer ${init.token}`);
    }
    if (typeof init.body === 'string' && !headers.has('content-type')) {
      headers.set('content-type', 'application/json');
    }
    return fetch(`${api.url}${path}`, { ...init, headers });
  };

  return {
    config,
    api,
    db,
    database,
    topicEnv,
    adminToken,
    request,
    async createUser() {
      const externalId = `user-${randomUUID()}`;
      const response = await request('/v1/admin/users', {
        method: 'POST',
        token: adminToken,
        body: JSON.stringify({ externalId, email: `${externalId}@example.test` }),
      });
      if (response.status !== 201) {
        throw new Error(`creating a user answered ${response.status}: ${await response.text()}`);
      }
      const user = (await response.json()) as { id: string };
      return { id: user.id, externalId, token: await mintToken(externalId, config) };
    },
    async stop() {
      await api.stop();
      await db.destroy();
      await database.drop();
    },
  };
}

/** A `POST /v1/cards` body. */
export function buildCardRequest(overrides: Record<string, unknown> = {}): string {
  return JSON.stringify({ color: 'gold', ...overrides });
}
