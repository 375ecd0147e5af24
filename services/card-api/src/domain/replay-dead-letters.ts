import { AppError, AuditAction, ErrorCode } from '@cards/contracts';

import type { Actor, AuditLog } from './audit';

/** Which dead letters to replay: one event id, one offset (in one partition), or all. */
export type ReplaySelection = { id: string } | { offset: string; partition?: number } | { all: true };

/** What the saga needs to know of a dead letter to choose it and report its replay. */
export interface DeadLetterRef {
  partition: number;
  offset: string;
  key: string | null;
  ceId: string | null;
  ceType: string | null;
}

/** What a replay did: the main topic, its dead-letter topic, and the letters sent back, in their order. */
export interface ReplayOutcome<Letter extends DeadLetterRef = DeadLetterRef> {
  topic: string;
  dlq: string;
  replayed: Letter[];
}

/** The dead-letter topics: re-publishes the letters a selection names to their main topic. */
export interface DeadLetterArchive<Letter extends DeadLetterRef = DeadLetterRef> {
  /** Throws DeadLetterNotFound when the selection names no letter (`all` of an empty topic names none, quietly). */
  replay(topic: string, selection: ReplaySelection): Promise<ReplayOutcome<Letter>>;
}

export interface ReplayDeadLettersPorts<Letter extends DeadLetterRef> {
  deadLetters: DeadLetterArchive<Letter>;
  audit: AuditLog;
  /**
   * Kafka has no transaction with the database, so the audit row follows the replay it records; when the row cannot
   * be written the replay has happened all the same. Given this, such a failure is reported here and the replay
   * answered; without it, the failure is thrown.
   */
  auditNotWritten?: (error: unknown) => void;
}

/**
 * Replays dead letters and records who did it; `POST /v1/admin/dead-letters/replay` (and so the console) and the
 * CLI's `dlq replay` both come here. Safe to repeat: every consumer is idempotent, so a replayed event that was
 * already applied changes nothing.
 */
export async function replayDeadLetters<Letter extends DeadLetterRef>(
  request: { topic: string; selection: ReplaySelection },
  actor: Actor,
  ports: ReplayDeadLettersPorts<Letter>,
): Promise<ReplayOutcome<Letter>> {
  const outcome = await ports.deadLetters.replay(request.topic, request.selection);
  if (outcome.replayed.length === 0) {
    return outcome;
  }
  try {
    await ports.audit.append({
      ...actor,
      action: AuditAction.deadLetterReplay,
      target: outcome.topic,
      details: {
        deadLetterTopic: outcome.dlq,
        selection: request.selection,
        replayed: outcome.replayed.length,
      },
    });
  } catch (error) {
    if (!ports.auditNotWritten) {
      throw error;
    }
    ports.auditNotWritten(error);
  }
  return outcome;
}

/** The letters a selection names; throws DeadLetterNotFound when it names none. */
export function selectDeadLetters<Letter extends DeadLetterRef>(
  letters: readonly Letter[],
  selection: ReplaySelection,
  dlq: string,
): Letter[] {
  if ('all' in selection) {
    return [...letters];
  }
  if ('id' in selection) {
    // The same event may have been dead-lettered again after an earlier replay: the newest copy is replayed.
    const newest = letters.filter((letter) => letter.ceId === selection.id).at(-1);
    if (!newest) {
      throw new DeadLetterNotFound(`no dead letter on ${dlq} has ce_id ${selection.id}`);
    }
    return [newest];
  }
  const matches = letters.filter(
    (letter) =>
      letter.offset === selection.offset &&
      (selection.partition === undefined || letter.partition === selection.partition),
  );
  if (matches.length === 0) {
    const where = selection.partition === undefined ? '' : ` in partition ${selection.partition}`;
    throw new DeadLetterNotFound(`no dead letter on ${dlq} at offset ${selection.offset}${where}`);
  }
  if (matches.length > 1) {
    const partitions = matches.map((letter) => letter.partition).join(', ');
    throw new AppError({
      code: ErrorCode.VALIDATION_FAILED,
      kind: 'invalid',
      message: `offset ${selection.offset} exists in partitions ${partitions} of ${dlq}: add --partition <n>`,
    });
  }
  return matches;
}

/** A replay selection named no dead letter of the topic; the detail says which topic and selection. */
export class DeadLetterNotFound extends AppError {
  constructor(detail: string) {
    super({
      code: ErrorCode.DEAD_LETTER_NOT_FOUND,
      kind: 'not-found',
      message: 'Dead letter not found',
      details: { detail },
    });
    this.name = 'DeadLetterNotFound';
  }
}
