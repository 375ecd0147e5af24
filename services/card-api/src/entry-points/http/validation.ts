import { ErrorCode } from '@cards/contracts';
import type { z } from 'zod';

import { AppError } from '../../domain/errors';

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
    kind: 'validation',
    message: 'Validation failed',
    details: {
      detail: `The request ${where} is not valid.`,
      errors: result.error.issues.map((issue) => ({
        path: [where, ...issue.path.map(String)].join('.'),
        message: issue.message,
      })),
    },
  });
}
