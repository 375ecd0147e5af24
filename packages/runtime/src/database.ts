import knex, { type Knex } from 'knex';
import type { Logger } from 'pino';

import type { ReadinessCheck } from './health';
import { withTimeout } from './timeouts';

/** PostgreSQL error codes of a concurrent creator winning a race that we then lose harmlessly. */
const ALREADY_CREATED = new Set(['42P04', '42P06', '23505']);

/**
 * A knex instance over a pg pool, with its migrations listed in code. Connecting and acquiring are bounded, so a
 * database that is gone turns into a prompt error (and a 503 from /readyz) instead of requests piling up behind the
 * pool. `schema` confines a process to its own schema (search_path and migration tables).
 */
export function createKnex(options: {
  url: string;
  poolMax: number;
  migrations: Record<string, Knex.Migration>;
  schema?: string;
  logger?: Logger;
  acquireTimeoutMs?: number;
  /**
   * The server cancels a statement that runs longer, and ends a session idle in a transaction for longer: one slow
   * query or one stuck transaction cannot hold a pooled connection (and its locks) for ever. 0 turns both off
   * (migrations, operator commands).
   */
  statementTimeoutMs?: number;
}): Knex {
  const log = options.logger?.child({ component: 'knex' });
  const timeoutMs = options.acquireTimeoutMs ?? 5000;
  const statementTimeoutMs = options.statementTimeoutMs ?? 0;
  return knex({
    client: 'pg',
    connection: {
      connectionString: options.url,
      connectionTimeoutMillis: timeoutMs,
      // A connection whose peer vanished without a FIN is noticed instead of waited on for ever.
      keepAlive: true,
      ...(statementTimeoutMs > 0 && {
        statement_timeout: statementTimeoutMs,
        idle_in_transaction_session_timeout: Math.max(statementTimeoutMs * 2, 10_000),
      }),
    },
    pool: { min: 0, max: options.poolMax },
    acquireConnectionTimeout: timeoutMs,
    ...(options.schema && { searchPath: [options.schema] }),
    migrations: {
      migrationSource: codeListedMigrations(options.migrations),
      tableName: 'knex_migrations',
      ...(options.schema && { schemaName: options.schema }),
    },
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
 * Migrations are listed in code rather than discovered on disk, so the same list runs from TypeScript sources
 * (tests) and compiled JavaScript (production) with no path or extension juggling.
 */
function codeListedMigrations(migrations: Record<string, Knex.Migration>): Knex.MigrationSource<string> {
  return {
    getMigrations: () => Promise.resolve(Object.keys(migrations).sort()),
    getMigrationName: (name) => name,
    getMigration: (name) => {
      const migration = migrations[name];
      return migration ? Promise.resolve(migration) : Promise.reject(new Error(`unknown migration ${name}`));
    },
  };
}

/** Brings the schema up to date; safe to run concurrently (knex takes a lock table). Returns what it applied. */
export async function migrateToLatest(db: Knex): Promise<string[]> {
  const [, applied] = (await db.migrate.latest()) as [number, string[]];
  return applied;
}

/**
 * Creates the database named in `url` when it does not exist, so a fresh machine needs no manual step. Connects
 * to the server's `postgres` database to do so; safe when several processes start together.
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

/** Runs a CREATE statement; false when a concurrent creator got there first. */
export async function createUnlessRaced(db: Knex, statement: string): Promise<boolean> {
  try {
    await db.raw(statement);
    return true;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && ALREADY_CREATED.has(code)) {
      return false;
    }
    throw error;
  }
}

/** A /readyz check that the database answers a trivial query within `timeoutMs`. */
export function databaseReadinessCheck(db: Knex, timeoutMs: number): ReadinessCheck {
  return {
    name: 'database',
    check: async () => {
      try {
        await withTimeout(db.raw(/* sql */ 'SELECT 1'), timeoutMs);
        return { up: true };
      } catch (error) {
        return { up: false, reason: error instanceof Error ? error.message : String(error) };
      }
    },
  };
}
