import { ErrorCode } from '@cards/contracts';
import type { z } from 'zod';

import { AppError } from '@cards/contracts';

/**
 * NUL and unpaired surrogates, which JSON text can carry but PostgreSQL's text and jsonb cannot: an answer that
 * echoes them (a refused key's name in a message) could not be recorded for its Idempotency-Key, and the key would
 * stay claimed.
 */
const UNSTORABLE = /[\0\p{Cs}]/gu;

/** Text from a client made safe to answer with and to store: unstorable characters become U+FFFD. */
function storableText(text: string): string {
  return text.replace(UNSTORABLE, '\uFFFD');
}

/** Parses `value` with `schema`, or throws a 422 naming each failing field. */
export function parseOrThrow<Schema extends z.ZodType>(
  schema: Schema,
  value: unknown,
  where: string,
): z.output<Schema> {
  const result = schema.safeParse(value);
  if (result.success) {
    return result.data;
  }
  throw new AppError({
    code: ErrorCode.VALIDATION_FAILED,
    kind: 'invalid',
    message: 'Validation failed',
    details: {
      detail: `The request ${where} is not valid.`,
      errors: result.error.issues.map((issue) => ({
        path: storableText([where, ...issue.path.map(String)].join('.')),
        message: storableText(issue.message),
      })),
    },
  });
}
