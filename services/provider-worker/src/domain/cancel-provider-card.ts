import { EventType, WorkerErrorCode, type CardEvent } from '@cards/contracts';

import { PermanentCommandError, ProviderAnswerInvalidError, ProviderUnavailableError } from './errors';
import type { CancelCardOutcome } from './provider-client';
import type { ProviderCommandDeps } from './provision-card';
import { resultEvent } from './result-events';

/** The card.cancel.requested command (compensation: our card ended FAILED but the provider made one). */
export type CancelCommand = CardEvent<typeof EventType.cancelRequested>;

/**
 * Cancels the provider's card and publishes card.cancelled. A card the provider does not know counts as cancelled
 * (nothing is left active). Transient failures are retried and, once exhausted, thrown as they are, so the
 * consumer retries and finally dead-letters the command: a compensation must not be dropped silently. A refusal
 * is permanent and goes to the dead-letter topic at once. A 2xx answer is believed only when it is this card,
 * CANCELLED (the adapter checks); any other answer is asked again and, if it never comes right, dead-lettered.
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

  let outcome: Exclude<CancelCardOutcome, { kind: 'unavailable' | 'contract-violation' }>;
  try {
    outcome = await deps.retry.execute(async () => {
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
      if (answer.kind === 'contract-violation') {
        // Not believed as it is: the provider's own record of the card says whether the cancel happened. If it
        // did not (or cannot be read), the cancel is asked again: it is idempotent.
        log.warn(
          { attempt: attempts, reason: answer.reason },
          'provider answered the cancel against its contract',
        );
        if (await readsCancelled(command, deps)) {
          return { kind: 'cancelled' } as const;
        }
        throw new ProviderAnswerInvalidError(
          `provider answer to cancelling card ${providerCardId} breaks the contract: ${answer.reason} (attempt ${attempts})`,
        );
      }
      return answer;
    }, deps.signal);
  } catch (error) {
    if (error instanceof ProviderAnswerInvalidError) {
      // Still not a believable cancellation after every attempt: to the dead-letter topic, where an operator sees
      // it and reconciliation asks again later; never recorded as cancelled.
      throw new PermanentCommandError({
        code: WorkerErrorCode.PROVIDER_CONTRACT_VIOLATION,
        kind: 'conflict',
        message: error.message,
        cause: error,
      });
    }
    throw error;
  }

  if (outcome.kind === 'rejected') {
    throw new PermanentCommandError({
      code: WorkerErrorCode.CANCEL_REFUSED,
      kind: 'conflict',
      message: `provider refused to cancel card ${providerCardId} (HTTP ${outcome.status}): ${outcome.message}`,
    });
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

/** Whether the provider's list of our card's provider cards shows this one CANCELLED (false when it cannot say). */
async function readsCancelled(command: CancelCommand, deps: ProviderCommandDeps): Promise<boolean> {
  const { cardId, providerCardId } = command.data;
  const found = await deps.provider.findCardsByReference(cardId, {
    correlationId: command.correlationId,
    traceparent: command.traceparent,
  });
  return (
    found.kind === 'found' &&
    found.cards.some((card) => card.id === providerCardId && card.status === 'CANCELLED')
  );
}
