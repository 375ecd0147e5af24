import { AppError, AuditAction, ErrorCode } from '@cards/contracts';

import type { Actor, AuditLog } from './audit';
import type { UserRecord } from './card';

type Role = UserRecord['role'];

/** The users table as this use case needs it. */
export interface UserRoles {
  /** Sets the role of the user with `externalId`; the user as it now is and its role before, or undefined. */
  setRole(externalId: string, role: Role): Promise<{ user: UserRecord; previousRole: Role } | undefined>;
}

/** One unit of work: the role and its audit row commit together. */
export interface ChangeUserRolePorts {
  transaction<T>(work: (ports: { users: UserRoles; audit: AuditLog }) => Promise<T>): Promise<T>;
}

/**
 * Gives a user another role (an operator becoming an admin, an admin stepping down), recording who did it; a role
 * that does not change writes nothing. card-api reads roles from the database, so nobody edits the table by hand.
 */
export async function changeUserRole(
  externalId: string,
  role: Role,
  actor: Actor,
  ports: ChangeUserRolePorts,
): Promise<{ user: UserRecord; previousRole: Role }> {
  const changed = await ports.transaction(async ({ users, audit }) => {
    const outcome = await users.setRole(externalId, role);
    if (outcome && outcome.previousRole !== role) {
      await audit.append({
        ...actor,
        action: AuditAction.userRoleChange,
        target: outcome.user.id,
        details: { externalId, from: outcome.previousRole, to: role },
      });
    }
    return outcome;
  });
  if (!changed) {
    throw new AppError({
      code: ErrorCode.USER_NOT_FOUND,
      kind: 'not-found',
      message: 'User not found',
      details: { detail: `no user has external id ${JSON.stringify(externalId)}` },
    });
  }
  return changed;
}
