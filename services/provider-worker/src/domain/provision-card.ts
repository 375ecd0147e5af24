import { EventType, FailureCode, type CardEvent, type EventData } from '@cards/contracts';
import type { EventPublisher, Logger } from '@cards/platform';

import { isTransient, ProviderUnavailableError } from './errors';
import type { CreateCardOutcome, ProviderClient } from './provider-client';
import { resultEvent } from './result-events';
import type { RetryPolicy } from './retry-policy';

/** What the worker's use cases need; all passed in, so a unit test hands in fakes. */
export interface ProviderCommandDeps {
  provider: ProviderClient;
  publisher: EventPublisher;
  /** Retries transient provider failures (cockatiel in production). */
  retry: RetryPolicy;
  logger: Logger;
  now?: () => Date;
  /** Aborted when the worker stops: no further retry starts, and the command is left for redelivery. */
  signal?: AbortSignal;
}

/** The card.provision.requested command. */
export type ProvisionCommand = CardEvent<typeof EventType.provisionRequested>;

/** The result a provisioning command leads to. */
export type ProvisioningResult =
  CardEvent<typeof EventType.provisioned> | CardEvent<typeof EventType.provisioningFailed>;

// The failure message reaches the card's `failureMessage`; the schema caps it.
const MAX_MESSAGE_LENGTH = 1000;

/**
 * Orders the card from the provider (idempotency key = card id, so a redelivered command never orders twice),
 * retrying transient failures, and publishes what came of it: card.provisioned, or card.provisioning.failed with
 * the reason. Resolves only once Kafka has the result, so the command's offset moves on only after that. A
 * RetryLaterError (the provider is believed down, the worker is stopping) propagates with nothing published: the
 * command is neither failed nor done, and comes back later.
 */
export async function provisionCard(
  command: ProvisionCommand,
  deps: ProviderCommandDeps,
): Promise<ProvisioningResult> {
  const { cardId, color, cardholderRef } = command.data;
  const log = deps.logger.child({ cardId, commandId: command.id, correlationId: command.correlationId });
  const trace = { correlationId: command.correlationId, traceparent: command.traceparent };
  let attempts = 0;

  let outcome: Exclude<CreateCardOutcome, { kind: 'unavailable' }> | { kind: 'exhausted'; reason: string };
  try {
    outcome = await deps.retry.execute(async () => {
      attempts += 1;
      const answer = await deps.provider.createCard(
        { reference: cardId, color, cardholderRef },
        cardId,
        trace,
      );
      if (answer.kind === 'unavailable') {
        log.warn({ attempt: attempts, reason: answer.reason }, 'provider unavailable');
        throw new ProviderUnavailableError(answer.reason);
      }
      return answer;
    }, deps.signal);
  } catch (error) {
    if (!isTransient(error)) {
      throw error;
    }
    outcome = { kind: 'exhausted', reason: error.message };
  }

  const now = (deps.now ?? (() => new Date()))();
  const failed = (code: FailureCode, message: string): ProvisioningResult => {
    const data: EventData<typeof EventType.provisioningFailed> = {
      cardId,
      code,
      message: message.slice(0, MAX_MESSAGE_LENGTH),
      attempts,
    };
    return resultEvent(command, EventType.provisioningFailed, data, now);
  };

  let result: ProvisioningResult;
  switch (outcome.kind) {
    case 'created': {
      const { card } = outcome;
      if (card.reference !== cardId) {
        // The idempotency key and the reference are both our card id; another card here would be someone else's.
        result = failed(
          FailureCode.PROVIDER_CONTRACT_VIOLATION,
          'Provider answered with a card for another reference',
        );
        break;
      }
      result = resultEvent(
        command,
        EventType.provisioned,
        {
          cardId,
          providerCardId: card.id,
          last4: card.last4,
          expMonth: card.expMonth,
          expYear: card.expYear,
          attempts,
        },
        now,
      );
      break;
    }
    case 'rejected':
      result = failed(FailureCode.PROVIDER_REJECTED, outcome.message);
      break;
    case 'contract-violation':
      result = failed(FailureCode.PROVIDER_CONTRACT_VIOLATION, outcome.reason);
      break;
    case 'exhausted':
      result = failed(
        FailureCode.PROVIDER_UNAVAILABLE,
        `Provider unavailable after ${attempts} attempts: ${outcome.reason}`,
      );
      break;
  }

  await deps.publisher.publish([result]);
  if (result.type === EventType.provisioned) {
    log.info({ attempts, providerCardId: result.data.providerCardId }, 'card provisioned');
  } else {
    log.warn({ attempts, code: result.data.code, reason: result.data.message }, 'card provisioning failed');
  }
  return result;
}
