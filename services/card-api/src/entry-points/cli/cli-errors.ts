import { AppError } from '@cards/contracts';

/**
 * A failure as the CLI reports it, on one line: an AppError by its detail when it has one (it says what and where:
 * "no dead letter on x.dlq has ce_id …"), since its message is the short title an HTTP answer carries; anything else
 * as it is.
 */
export function asCliError(error: unknown): unknown {
  const detail = error instanceof AppError ? error.details['detail'] : undefined;
  return typeof detail === 'string' ? new Error(detail, { cause: error }) : error;
}
