import { randomBytes } from 'node:crypto';

import { Client } from 'pg';

/** A database of its own for one test file. */
export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

function serverUrl(): string {
  const url = process.env['TEST_DATABASE_URL'];
  if (!url) {
    throw new Error(
      'TEST_DATABASE_URL is not set: run integration tests through the jest integration project',
    );
  }
  return url;
}

/**
 * Creates an empty database for one test file, so files run in parallel without seeing each other's rows.
 * The name always starts with `test_`; `drop()` refuses any other name, so no test can drop a real database.
 * `server` is the integration project's PostgreSQL unless a test runs one of its own.
 */
export async function createTestDatabase(label: string, server = serverUrl()): Promise<TestDatabase> {
  const slug = label
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_|_$/g, '')
    .slice(0, 30);
  const name = `test_${slug}_${randomBytes(4).toString('hex')}`;
  await withServer(server, (client) => client.query(/* sql */ `CREATE DATABASE "${name}"`));
  const url = new URL(server);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    drop: () => dropTestDatabase(name, server),
  };
}

/** Drops a database made by createTestDatabase, disconnecting anyone still on it. */
export async function dropTestDatabase(name: string, server = serverUrl()): Promise<void> {
  if (!/^test_[a-z0-9_]+$/.test(name)) {
    throw new Error(`refusing to drop ${JSON.stringify(name)}: not a test database`);
  }
  await withServer(server, (client) =>
    client.query(/* sql */ `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
  );
}

async function withServer<T>(server: string, work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: server });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}
