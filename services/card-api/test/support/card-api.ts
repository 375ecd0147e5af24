import { createTestDatabase, testKafkaBrokers, type TestDatabase } from '@cards/test-support';

import { loadConfig, type CardApiConfig } from '../../src/config';
import { createDatabase, migrateToLatest } from '../../src/data-access/database';

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

/** A card-api config for tests: the given database, the test broker, any free port, no log noise. */
export function testConfig(databaseUrl: string, overrides: Record<string, string> = {}): CardApiConfig {
  return loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    HTTP_PORT: '0',
    DATABASE_URL: databaseUrl,
    KAFKA_BROKERS: testKafkaBrokers().join(','),
    ...overrides,
  });
}
