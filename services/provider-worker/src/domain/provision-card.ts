import { EventType, FailureCode, type CardEvent, type EventData, type ProviderCard } from '@cards/contracts';

import {
  CommandExpiredError,
  isTransient,
  ProviderAnswerInvalidError,
  ProviderUnavailableError,
} from './errors';
import type { ResultPublisher, UseCaseLog } from './ports';
import type { CallTrace, CreateCardOutcome, ProviderClient } from './provider-client';
import { resultEvent } from './result-events';
import type { RetryPolicy } from './retry-policy';

/** What the worker's use cases need; all passed in, so a unit test hands in fakes. */
export interface ProviderCommandDeps {
  provider: ProviderClient;
  publisher: ResultPublisher;
  /** Retries transient provider failures (cockatiel in production). */
  retry: RetryPolicy;
  logger: UseCaseLog;
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
 * retrying transient failures until the command's deadline, and publishes what came of it: card.provisioned, or card.provisioning.failed with
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
  const clock = deps.now ?? (() => new Date());
  const deadline = command.data.deadline === undefined ? undefined : Date.parse(command.data.deadline);
  const expired = (): boolean => deadline !== undefined && clock().getTime() >= deadline;

  let outcome:
    | Exclude<CreateCardOutcome, { kind: 'unavailable' | 'contract-violation' }>
    | { kind: 'contract-violation'; reason: string }
    | { kind: 'exhausted'; reason: string }
    | { kind: 'expired' };
  try {
    outcome = await deps.retry.execute(
      async () => {
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
        if (answer.kind === 'contract-violation') {
          // Asked again with the same idempotency key: the provider returns the card it made, if it made one.
          log.warn({ attempt: attempts, reason: answer.reason }, 'provider answer breaks the contract');
          throw new ProviderAnswerInvalidError(answer.reason);
        }
        return answer;
      },
      deps.signal,
      { expired },
    );
  } catch (error) {
    if (error instanceof CommandExpiredError) {
      outcome = { kind: 'expired' };
    } else if (error instanceof ProviderAnswerInvalidError) {
      // The last answer broke the contract: that is the reason the card fails with, if the lookup finds nothing.
      outcome = { kind: 'contract-violation', reason: error.message };
    } else if (isTransient(error)) {
      outcome = { kind: 'exhausted', reason: error.message };
    } else {
      throw error;
    }
  }

  // Before failing a card, ask whether the provider made it anyway: a create that timed out after the provider
  // acted, or an answer broken in transit, leaves a provider card behind that only this lookup can tell of.
  // A command past its deadline too: an earlier delivery's attempt may have made the card.
  if (outcome.kind === 'contract-violation' || outcome.kind === 'exhausted' || outcome.kind === 'expired') {
    const lookup = await findActiveCard(command, deps, trace);
    if (lookup.kind === 'found') {
      log.warn(
        { attempts, providerCardId: lookup.card.id, createOutcome: outcome.kind },
        'the provider made the card although its answers said otherwise; provisioned with it',
      );
      outcome = { kind: 'created', card: lookup.card };
    } else if (lookup.kind === 'unknown') {
      // The card fails as the create said; whether the provider made it is for reconciliation to find out.
      log.warn(
        { attempts, reason: lookup.reason },
        'the lookup by reference could not tell whether the provider made the card',
      );
    }
  }

  const now = clock();
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
          // A card found by the lookup of a delivery that made no attempt (its command had expired) was made by an
          // earlier delivery's attempt: at least one, and the contract says so.
          attempts: Math.max(attempts, 1),
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
    case 'expired':
      result = failed(
        FailureCode.TIMED_OUT,
        `The saga deadline (${command.data.deadline ?? ''}) passed before the provider made the card`,
      );
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

/**
 * The provider's ACTIVE card for this command's card, looked up by reference, or none. A CANCELLED one is no card
 * to finish the saga with. One call, not retried and not through the circuit breaker: the create's attempts are
 * spent already, and a provider that cannot answer now must not keep the command (or, by opening the circuit, every
 * command) waiting. `unknown` when the provider could not say: the card is then failed as the create said, and
 * reconciliation cancels a provider card that turns up later.
 */
async function findActiveCard(
  command: ProvisionCommand,
  deps: ProviderCommandDeps,
  trace: CallTrace,
): Promise<{ kind: 'found'; card: ProviderCard } | { kind: 'none' } | { kind: 'unknown'; reason: string }> {
  const { cardId } = command.data;
  const answer = await deps.provider.findCardsByReference(cardId, trace);
  switch (answer.kind) {
    case 'found': {
      const active = answer.cards.find((card) => card.reference === cardId && card.status === 'ACTIVE');
      return active ? { kind: 'found', card: active } : { kind: 'none' };
    }
    case 'unavailable':
    case 'contract-violation':
      return { kind: 'unknown', reason: answer.reason };
    case 'not-found':
      return { kind: 'none' };
  }
}
