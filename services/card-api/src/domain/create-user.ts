import { AuditAction, ErrorCode } from '@cards/contracts';

import type { Actor, AuditLog } from './audit';
import type { UserRecord } from './card';
import { AppError } from '@cards/contracts';

/** What an operator gives to create a user. */
export interface NewUser {
  externalId: string;
  email: string;
  role: UserRecord['role'];
}

/** The users table as this use case needs it. */
export interface UserRegistry {
  /** Inserts the user; undefined when its external id is taken (the existing user is left unchanged). */
  insert(user: NewUser): Promise<UserRecord | undefined>;
}

/** One unit of work: the user and its audit row commit together, or neither does. */
export interface CreateUserPorts {
  transaction<T>(work: (ports: { users: UserRegistry; audit: AuditLog }) => Promise<T>): Promise<T>;
}

/**
 * Creates a user and records who did it; `POST /v1/admin/users` (and so the console) and the CLI's `users create`
 * both come here. An external id already taken is a conflict, and nothing is written.
 */
export async function createUser(user: NewUser, actor: Actor, ports: CreateUserPorts): Promise<UserRecord> {
  const created = await ports.transaction(async ({ users, audit }) => {
    const inserted = await users.insert(user);
    if (inserted) {
      await audit.append({
        ...actor,
        action: AuditAction.userCreate,
        target: inserted.id,
        details: { externalId: inserted.externalId, role: inserted.role },
      });
    }
    return inserted;
  });
  if (!created) {
    throw new UserAlreadyExists(user.externalId);
  }
  return created;
}

/** The external id is already a user's. */
export class UserAlreadyExists extends AppError {
  constructor(readonly externalId: string) {
    super({
      code: ErrorCode.USER_ALREADY_EXISTS,
      kind: 'conflict',
      message: 'User already exists',
      details: { detail: `A user with externalId ${JSON.stringify(externalId)} exists.` },
    });
    this.name = 'UserAlreadyExists';
  }
}
