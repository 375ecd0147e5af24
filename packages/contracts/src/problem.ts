import { z } from 'zod';

/** RFC 9457 problem details, extended with a stable `code` (see error-codes.ts) and, for validation, the fields. */
export const ProblemSchema = z
  .object({
    type: z.string().describe('A URI reference identifying the problem type.'),
    title: z.string().describe('A short, human-readable summary of the problem type.'),
    status: z.number().int().min(400).max(599),
    detail: z.string().optional().describe('A human-readable explanation specific to this occurrence.'),
    instance: z.string().optional(),
    code: z.string().describe('Stable machine-readable error code.'),
    requestId: z.string().optional().describe('Correlates this answer with the server logs.'),
    errors: z
      .array(z.object({ path: z.string(), message: z.string() }))
      .optional()
      .describe('For validation problems: each failing field.'),
  })
  .catchall(z.unknown());

export type Problem = z.infer<typeof ProblemSchema>;

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** The `type` URI for a code; relative, so it resolves against whichever host serves the API docs. */
export function problemType(code: string): string {
  return `/problems/${code.toLowerCase().replaceAll('_', '-')}`;
}
