import { OPS_CLI_ACTOR } from '../../domain/audit';
import type { UserRecord } from '../../domain/card';
import { changeUserRole, type ChangeUserRolePorts } from '../../domain/change-user-role';
import { createUser, UserAlreadyExists, type CreateUserPorts, type NewUser } from '../../domain/create-user';
import { asCliError } from './cli-errors';
import { goAhead, type Confirm } from './confirmation';
import type { Out } from './dlq.commands';

/** A user as printed: the fields POST /v1/admin/users answers with. */
function userJson(user: UserRecord): string {
  return JSON.stringify({
    id: user.id,
    externalId: user.externalId,
    email: user.email,
    role: user.role,
    createdAt: user.createdAt.toISOString(),
  });
}

/**
 * `users create`: creates a user through the same use case as POST /v1/admin/users, with the audit row naming the
 * CLI; an external id already taken is an error, and the existing user is unchanged.
 */
export async function usersCreate(options: {
  user: NewUser;
  ports: CreateUserPorts;
  dryRun?: boolean;
  confirm: Confirm | undefined;
  json?: boolean;
  out: Out;
}): Promise<UserRecord | undefined> {
  const { externalId, email, role } = options.user;
  const change = `create user ${externalId} <${email}> with role ${role}`;
  if (!(await goAhead({ command: 'users create', change, ...options }))) {
    return undefined;
  }
  const user = await createUser(options.user, OPS_CLI_ACTOR, options.ports).catch((error: unknown) => {
    throw error instanceof UserAlreadyExists
      ? new Error(`a user with external id ${JSON.stringify(error.externalId)} already exists`, {
          cause: error,
        })
      : error;
  });
  options.out(
    options.json
      ? userJson(user)
      : `created user ${user.externalId}: id=${user.id} role=${user.role} email=${user.email} ` +
          `created_at=${user.createdAt.toISOString()}`,
  );
  return user;
}

/** `users role <external-id> --role <role>`: another role for a user, through changeUserRole, audited as the CLI. */
export async function usersRole(options: {
  externalId: string;
  role: UserRecord['role'];
  ports: ChangeUserRolePorts;
  /** The user as it is now, for a dry run and the question; undefined when there is none. */
  find: (externalId: string) => Promise<UserRecord | undefined>;
  dryRun?: boolean;
  confirm: Confirm | undefined;
  out: Out;
}): Promise<void> {
  const { externalId, role } = options;
  const current = await options.find(externalId);
  if (!current) {
    throw new Error(`no user has external id ${JSON.stringify(externalId)}`);
  }
  if (current.role === role) {
    options.out(`user ${externalId} already has role ${role}; nothing to change`);
    return;
  }
  const change = `change user ${externalId} from role ${current.role} to ${role}`;
  if (!(await goAhead({ command: 'users role', change, ...options }))) {
    return;
  }
  const { user, previousRole } = await changeUserRole(externalId, role, OPS_CLI_ACTOR, options.ports).catch(
    (error: unknown) => {
      throw asCliError(error);
    },
  );
  options.out(`changed user ${user.externalId} from role ${previousRole} to ${user.role}`);
}

/**
 * `token mint`: prints a development token (HS256, JWT_SECRET). Refused in production, and when card-api verifies
 * tokens with an identity provider's key set, since card-api would then refuse the token anyway.
 */
export async function tokenMint(options: {
  subject: string;
  expiresIn?: string | undefined;
  environment: { nodeEnv: string; jwksUrl: string | undefined };
  mint: (subject: string, options: { expiresIn?: string }) => Promise<string>;
  json?: boolean;
  out: Out;
}): Promise<string> {
  if (options.environment.nodeEnv === 'production') {
    throw new Error('refusing to mint a development token with NODE_ENV=production');
  }
  if (options.environment.jwksUrl !== undefined) {
    throw new Error(
      'JWT_JWKS_URL is set: card-api verifies tokens with that key set and would refuse a development token',
    );
  }
  const jwt = await options.mint(
    options.subject,
    options.expiresIn === undefined ? {} : { expiresIn: options.expiresIn },
  );
  if (options.json) {
    const claims = JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString()) as {
      exp?: number;
    };
    const expiresAt = claims.exp === undefined ? null : new Date(claims.exp * 1000).toISOString();
    options.out(JSON.stringify({ token: jwt, sub: options.subject, expiresAt }));
  } else {
    options.out(jwt);
  }
  return jwt;
}
