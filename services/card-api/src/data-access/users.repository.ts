import type { Knex } from 'knex';

import type { UserRecord } from '../domain/card';
import type { ChangeUserRolePorts } from '../domain/change-user-role';
import type { CreateUserPorts, NewUser } from '../domain/create-user';
import { auditLog } from './audit.repository';

interface UserRow {
  id: string;
  external_id: string;
  email: string;
  role: 'user' | 'admin';
  created_at: Date;
}

function toRecord(row: UserRow): UserRecord {
  return {
    id: row.id,
    externalId: row.external_id,
    email: row.email,
    role: row.role,
    createdAt: row.created_at,
  };
}

/** The user a token's `sub` names. */
export async function findUserByExternalId(externalId: string, db: Knex): Promise<UserRecord | undefined> {
  const row = await db<UserRow>('users').where({ external_id: externalId }).first();
  return row && toRecord(row);
}

/** Inserts a user; undefined when the external id is taken. */
export async function insertUser(user: NewUser, db: Knex): Promise<UserRecord | undefined> {
  const [row] = await db<UserRow>('users')
    .insert({ external_id: user.externalId, email: user.email, role: user.role })
    .onConflict('external_id')
    .ignore()
    .returning('*');
  return row && toRecord(row);
}

/** createUser's unit of work over `db`: the user and its audit row in one transaction. */
export function userCreationPorts(db: Knex): CreateUserPorts {
  return {
    transaction: (work) =>
      db.transaction((tx) =>
        work({ users: { insert: (user) => insertUser(user, tx) }, audit: auditLog(tx) }),
      ),
  };
}

/** Sets a user's role, locking the row; the user as it now is and the role it had, or undefined for no such user. */
export async function setUserRole(
  externalId: string,
  role: UserRecord['role'],
  db: Knex | Knex.Transaction,
): Promise<{ user: UserRecord; previousRole: UserRecord['role'] } | undefined> {
  const result = await db.raw<{ rows: (UserRow & { previous_role: UserRecord['role'] })[] }>(
    /* sql */ `
    WITH before AS (SELECT id, role FROM users WHERE external_id = ? FOR UPDATE)
    UPDATE users u SET role = ? FROM before WHERE u.id = before.id
    RETURNING u.*, before.role AS previous_role`,
    [externalId, role],
  );
  const [row] = result.rows;
  return row && { user: toRecord(row), previousRole: row.previous_role };
}

/** changeUserRole's unit of work over `db`: the role and its audit row in one transaction. */
export function userRolePorts(db: Knex): ChangeUserRolePorts {
  return {
    transaction: (work) =>
      db.transaction((tx) =>
        work({
          users: { setRole: (externalId, role) => setUserRole(externalId, role, tx) },
          audit: auditLog(tx),
        }),
      ),
  };
}

/** Creates the first admin when missing; an existing user of that external id is left as it is. */
export async function ensureAdmin(admin: { externalId: string; email: string }, db: Knex): Promise<void> {
  await insertUser({ ...admin, role: 'admin' }, db);
}

/** A user by id (an operator looking at whose card this is). */
export async function findUserById(id: string, db: Knex): Promise<UserRecord | undefined> {
  const row = await db<UserRow>('users').where({ id }).first();
  return row && toRecord(row);
}

/**
 * Users newest first, after `after`, one extra row telling whether another page exists. created_at is compared at
 * millisecond precision, the precision of the API's cursors (the column keeps microseconds).
 */
export async function listUsers(
  options: { limit: number; after?: { createdAt: Date; id: string } | undefined },
  db: Knex,
): Promise<{ users: UserRecord[]; hasMore: boolean }> {
  const query = db<UserRow>('users')
    .orderByRaw(/* sql */ "date_trunc('milliseconds', created_at) DESC, id DESC")
    .limit(options.limit + 1);
  if (options.after) {
    void query.whereRaw(/* sql */ "(date_trunc('milliseconds', created_at), id) < (?, ?)", [
      options.after.createdAt,
      options.after.id,
    ]);
  }
  const rows = await query;
  return { users: rows.slice(0, options.limit).map(toRecord), hasMore: rows.length > options.limit };
}
