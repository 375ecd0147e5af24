import { ErrorCode } from '@cards/contracts';
import { z } from 'zod';

import type { CardPosition } from '../../data-access/cards.repository';
import { AppError } from '@cards/contracts';

const CursorSchema = z.strictObject({ c: z.iso.datetime(), i: z.uuid() });

/**
 * Opaque cursors: a position in the newest-first order, base64url-encoded. They carry no user: the query is
 * always scoped to the caller, so a crafted cursor can move within the caller's cards but never reach others'.
 */
export function encodeCursor(position: CardPosition): string {
  return Buffer.from(JSON.stringify({ c: position.createdAt.toISOString(), i: position.id })).toString(
    'base64url',
  );
}

const invalidCursor = (): AppError =>
  new AppError({
    code: ErrorCode.VALIDATION_FAILED,
    kind: 'invalid',
    message: 'Validation failed',
    details: {
      detail: 'The cursor is not valid.',
      errors: [{ path: 'query.cursor', message: 'invalid cursor' }],
    },
  });

/** Decodes a cursor, or throws a 422 that says the cursor is invalid. */
export function decodeCursor(cursor: string): CardPosition {
  try {
    const parsed = CursorSchema.parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
    return { createdAt: new Date(parsed.c), id: parsed.i };
  } catch {
    throw invalidCursor();
  }
}

const IdCursorSchema = z.strictObject({ i: z.string().regex(/^\d{1,19}$/) });

/** An opaque cursor over a growing numeric id (the audit log's). */
export function encodeIdCursor(id: string): string {
  return Buffer.from(JSON.stringify({ i: id })).toString('base64url');
}

/** Decodes an id cursor, or throws the same 422 as decodeCursor. */
export function decodeIdCursor(cursor: string): string {
  try {
    return IdCursorSchema.parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))).i;
  } catch {
    throw invalidCursor();
  }
}
