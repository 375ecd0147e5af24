import type { Logger } from '@cards/platform';
import knex, { type Knex } from 'knex';

import { migrations } from './migrations';

/** PostgreSQL error codes of a concurrent creator winning a race we then lose harmlessly. */
const ALREADY_CREATED = new Set(['42P04', '42P06', '23505']);

/**
 * A knex instance over a pg pool whose connections see the provider's schema only (search_path), so the
 * provider's `cards` never meets card-api's table of the same name. Connecting and acquiring are bounded, so a
 * database that is gone turns into a prompt error (and a 503 from /readyz) instead of requests piling up.
 */
export function createDatabase(options: {
  url: string;
  schema: string;
  poolMax: number;
  logger?: Logger;
  acquireTimeoutMs?: number;
}): Knex {
  const log = options.logger?.child({ component: 'knex' });
  const timeoutMs = options.acquireTimeoutMs ?? 5000;
  return knex({
    client: 'pg',
    connection: { connectionString: options.url, connectionTimeoutMillis: timeoutMs },
    searchPath: [options.schema],
    pool: { min: 0, max: options.poolMax },
    acquireConnectionTimeout: timeoutMs,
    migrations: { migrationSource, tableName: 'knex_migrations', schemaName: options.schema },
    ...(log && {
      log: {
        warn: (message: unknown) => {
          log.warn({ detail: message }, 'knex warning');
        },
        error: (message: unknown) => {
          log.error({ detail: message }, 'knex error');
        },
        deprecate: (message: unknown) => {
          log.warn({ detail: message }, 'knex deprecation');
        },
        debug: (message: unknown) => {
          log.debug({ detail: message }, 'knex debug');
        },
      },
    }),
  });
}

/**
 * Creates the database named in `url` when it does not exist, so the provider starts on a fresh machine even
 * before card-api's set-up has run. Connects to the server's `postgres` database to do so.
 */
export async function ensureDatabaseExists(url: string): Promise<boolean> {
  const name = decodeURIComponent(new URL(url).pathname.replace(/^\//, ''));
  if (!/^[A-Za-z0-9_]+$/.test(name)) {
    throw new Error(`refusing to create database with unusual name ${JSON.stringify(name)}`);
  }
  const adminUrl = new URL(url);
  adminUrl.pathname = '/postgres';
  const admin = knex({
    client: 'pg',
    connection: { connectionString: adminUrl.toString(), connectionTimeoutMillis: 5000 },
    pool: { min: 0, max: 1 },
  });
  try {
    const found = await admin.raw<{ rows: unknown[] }>(
      /* sql */ 'SELECT 1 FROM pg_database WHERE datname = ?',
      [name],
    );
    if (found.rows.length > 0) {
      return false;
    }
    return await createUnlessRaced(admin, /* sql */ `CREATE DATABASE "${name}"`);
  } finally {
    await admin.destroy();
  }
}

/**
 * Creates the provider's schema when missing and brings its tables up to date; safe to run from several
 * processes at once (knex takes its lock table, inside the same schema).
 */
export async function prepareSchema(db: Knex, schema: string): Promise<string[]> {
  await createUnlessRaced(db, /* sql */ `CREATE SCHEMA IF NOT EXISTS "${schema}"`);
  const [, applied] = (await db.migrate.latest()) as [number, string[]];
  return applied;
}

async function createUnlessRaced(db: Knex, statement: string): Promise<boolean> {
  try {
    await db.raw(statement);
    return true;
  } catch (error) {
    // Two processes starting together may race to create it; the loser is fine.
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && ALREADY_CREATED.has(code)) {
      return false;
    }
    throw error;
  }
}

/**
 * Migrations are listed in code rather than discovered on disk, so the same list runs from TypeScript sources
 * (tests) and compiled JavaScript (production) with no path or extension juggling.
 */
const migrationSource: Knex.MigrationSource<string> = {
  getMigrations: () => Promise.resolve(Object.keys(migrations).sort()),
  getMigrationName: (name) => name,
  getMigration: (name) => {
    const migration = migrations[name];
    if (!migration) {
      return Promise.reject(new Error(`unknown migration ${name}`));
    }
    return Promise.resolve(migration);
  },
};
