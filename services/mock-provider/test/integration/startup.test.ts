import { readFileSync } from 'node:fs';
import path from 'node:path';

import { createTestDatabase, freeTcpPort, startServiceProcess, type TestDatabase } from '@cards/test-support';
import type { Knex } from 'knex';

import { providerDatabase, startProvider, type ProviderProcess } from '../support/mock-provider';

describe('mock-provider start-up', () => {
  let database: TestDatabase;
  let provider: ProviderProcess;
  let db: Knex;

  beforeAll(async () => {
    database = await createTestDatabase('mock-provider-startup');
    provider = await startProvider('mock-provider-startup', database.url);
    db = providerDatabase(database.url);
  });

  afterAll(async () => {
    await db.destroy();
    await provider.process.stop();
    await database.drop();
  });

  it('when it starts on an empty database, then its tables and migrations live in its own schema', async () => {
    const tables = await db('information_schema.tables')
      .whereIn('table_schema', ['public', 'mock_provider'])
      .select('table_schema', 'table_name')
      .orderBy('table_name');

    expect(tables).toEqual([
      { table_schema: 'mock_provider', table_name: 'cards' },
      { table_schema: 'mock_provider', table_name: 'knex_migrations' },
      { table_schema: 'mock_provider', table_name: 'knex_migrations_lock' },
    ]);
  });

  it('when the database answers, then /readyz says so', async () => {
    const response = await fetch(`${provider.url}/readyz`);

    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ready', checks: { database: 'up' } });
  });

  it('when a fault variable is bad, then the process exits non-zero naming the variable', async () => {
    const name = `mock-provider-bad-config-${process.pid}`;
    const bad = await startServiceProcess({
      name,
      service: 'mock-provider',
      entry: 'main-provider',
      env: { HTTP_PORT: String(await freeTcpPort()), DATABASE_URL: database.url, PROVIDER_ERROR_RATE: '1.5' },
    });

    expect(await bad.exited).toBe(1);
    const log = readFileSync(path.resolve(__dirname, '../../../../.run/test-logs', `${name}.log`), 'utf8');
    expect(log).toContain('PROVIDER_ERROR_RATE');
  });
});
