import { PROBLEM_CONTENT_TYPE, problemType, type Problem } from '@cards/contracts';
import type { Response } from 'express';

/** What a caller supplies; `type` defaults to the code's problem URI. Extra members become RFC 9457 extensions. */
export interface ProblemInput {
  status: number;
  code: string;
  title: string;
  detail?: string;
  type?: string;
  [extension: string]: unknown;
}

/** Writes an RFC 9457 problem+json answer, tagged with the request id when the request has one. */
export function sendProblem(
  res: Response,
  problem: ProblemInput,
  headers: Record<string, string> = {},
): void {
  const body: Problem = { type: problemType(problem.code), ...problem };
  const requestId: unknown = res.locals['requestId'];
  if (typeof requestId === 'string') {
    body.requestId = requestId;
  }
  res.status(problem.status).set(headers).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(body));
}
