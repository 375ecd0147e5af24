import type { AuditAction } from '@cards/contracts';

/** Who took an operator action: a user through the API, or the ops CLI (which has no user of its own). */
export interface Actor {
  actorUserId: string | null;
  actorExternalId: string;
  /** The API request that did it; null from the command line. */
  requestId: string | null;
}

/** One operator action as the audit log records it; the log stamps its id and time. */
export interface AuditEntry extends Actor {
  action: AuditAction;
  target: string | null;
  details: Record<string, unknown>;
}

/** The append-only record of operator actions. */
export interface AuditLog {
  append(entry: AuditEntry): Promise<void>;
}

/** The actor the audit log names for the ops CLI. */
export const OPS_CLI_ACTOR: Actor = { actorUserId: null, actorExternalId: 'ops-cli', requestId: null };
