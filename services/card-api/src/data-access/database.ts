import type { Logger } from '@cards/platform';
import knex, { type Knex } from 'knex';
import { Client } from 'pg';

import { migrations } from './migrations';

/**
 * A knex instance over a pg pool. Connecting and acquiring a connection are bounded, so a database that is gone
 * turns into a prompt error (and a 503 from /readyz) instead of requests piling up behind the pool.
 */
export function createDatabase(options: {
  url: string;
  poolMax: number;
  logger?: Logger;
  acquireTimeoutMs?: number;
}): Knex {
  const log = options.logger?.child({ component: 'knex' });
  return knex({
    client: 'pg',
    connection: { connectionString: options.url, connectionTimeoutMillis: options.acquireTimeoutMs ?? 5000 },
    pool: { min: 0, max: options.poolMax },
    acquireConnectionTimeout: options.acquireTimeoutMs ?? 5000,
    migrations: { migrationSource, tableName: 'knex_migrations' },
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
 * Creates the database named in `url` when it does not exist, so a fresh machine needs no manual step.
 * Connects to the server's `postgres` database to do so.
 */
export async function ensureDatabaseExists(url: string): Promise<boolean> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.replace(/^\//, ''));
  if (!/^[A-Za-z0-9_]+$/.test(name)) {
    throw new Error(`refusing to create database with unusual name ${JSON.stringify(name)}`);
  }
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const found = await client.query(/* sql */ 'SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount !== 0) {
      return false;
    }
    try {
      await client.query(/* sql */ `CREATE DATABASE "${name}"`);
    } catch (error) {
      // Two processes starting together may race to create it; the loser is fine.
      if ((error as { code?: string }).code !== '42P04') {
        throw error;
      }
      return false;
    }
    return true;
  } finally {
    await client.end();
  }
}

/** Brings the schema up to date; safe to run concurrently (knex takes a lock table). */
export async function migrateToLatest(db: Knex): Promise<string[]> {
  const [, applied] = (await db.migrate.latest()) as [number, string[]];
  return applied;
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
