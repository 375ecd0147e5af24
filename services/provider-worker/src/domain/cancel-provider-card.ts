import { EventType, type CardEvent } from '@cards/contracts';

import { PermanentCommandError, ProviderUnavailableError } from './errors';
import type { CancelCardOutcome } from './provider-client';
import type { ProviderCommandDeps } from './provision-card';
import { resultEvent } from './result-events';

/** The card.cancel.requested command (compensation: our card ended FAILED but the provider made one). */
export type CancelCommand = CardEvent<typeof EventType.cancelRequested>;

/**
 * Cancels the provider's card and publishes card.cancelled. A card the provider does not know counts as cancelled
 * (nothing is left active). Transient failures are retried and, once exhausted, thrown as they are, so the
 * consumer retries and finally dead-letters the command: a compensation must not be dropped silently. A refusal
 * is permanent and goes to the dead-letter topic at once.
 */
export async function cancelProviderCard(
  command: CancelCommand,
  deps: ProviderCommandDeps,
): Promise<CardEvent<typeof EventType.cancelled>> {
  const { cardId, providerCardId } = command.data;
  const log = deps.logger.child({
    cardId,
    providerCardId,
    commandId: command.id,
    correlationId: command.correlationId,
  });
  let attempts = 0;

  const outcome = await deps.retry.execute(async () => {
    attempts += 1;
    const answer: CancelCardOutcome = await deps.provider.cancelCard(providerCardId, {
      correlationId: command.correlationId,
      traceparent: command.traceparent,
    });
    if (answer.kind === 'unavailable') {
      log.warn({ attempt: attempts, reason: answer.reason }, 'provider unavailable');
      throw new ProviderUnavailableError(
        `cancelling provider card ${providerCardId}: ${answer.reason} (attempt ${attempts})`,
      );
    }
    return answer;
  }, deps.signal);

  switch (outcome.kind) {
    case 'rejected':
      throw new PermanentCommandError(
        `provider refused to cancel card ${providerCardId} (HTTP ${outcome.status}): ${outcome.message}`,
      );
    case 'contract-violation':
      throw new PermanentCommandError(
        `provider answer to cancelling card ${providerCardId} breaks the contract: ${outcome.reason}`,
      );
    case 'cancelled':
    case 'not-found':
      break;
  }

  const result = resultEvent(
    command,
    EventType.cancelled,
    { cardId, providerCardId },
    (deps.now ?? (() => new Date()))(),
  );
  await deps.publisher.publish([result]);
  log.info({ attempts, alreadyGone: outcome.kind === 'not-found' }, 'provider card cancelled');
  return result;
}
