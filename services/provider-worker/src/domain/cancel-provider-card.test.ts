import { EventType } from '@cards/contracts';
import { createLogger } from '@cards/runtime';

import {
  buildCancelCommand,
  buildProviderCard,
  buildProvisionCommand,
  RecordingPublisher,
  retryWithoutDelay,
  ScriptedProvider,
} from '../../test/support/fakes';
import { cancelProviderCard } from './cancel-provider-card';
import { PermanentCommandError, ProviderUnavailableError } from './errors';
import type { CancelCardOutcome, FindCardOutcome } from './provider-client';
import { resultEventId } from './result-events';

const logger = createLogger({ service: 'test', level: 'silent' });

function setUp(cancel: CancelCardOutcome[], maxAttempts = 3, find?: FindCardOutcome[]) {
  const provider = new ScriptedProvider({ cancel, ...(find && { find }) });
  const publisher = new RecordingPublisher();
  return {
    provider,
    publisher,
    deps: { provider, publisher, retry: retryWithoutDelay(maxAttempts), logger },
  };
}

describe('cancelProviderCard', () => {
  it('when the provider cancels the card, then card.cancelled names both cards', async () => {
    const command = buildCancelCommand();
    const { provider, publisher, deps } = setUp([{ kind: 'cancelled' }]);

    await cancelProviderCard(command, deps);

    expect(provider.cancelCalls).toEqual([command.data.providerCardId]);
    expect(publisher.published).toEqual([
      expect.objectContaining({
        id: resultEventId(command.id, EventType.cancelled),
        type: EventType.cancelled,
        subject: command.data.cardId,
        correlationId: command.correlationId,
        data: { cardId: command.data.cardId, providerCardId: command.data.providerCardId },
      }),
    ]);
  });

  it('when the provider does not know the card, then it counts as cancelled', async () => {
    const command = buildCancelCommand();
    const { publisher, deps } = setUp([{ kind: 'not-found' }]);

    await cancelProviderCard(command, deps);

    expect(publisher.published.map((event) => event.type)).toEqual([EventType.cancelled]);
  });

  it('when the provider refuses, then a permanent error is thrown and nothing is published', async () => {
    const command = buildCancelCommand();
    const { publisher, deps } = setUp([{ kind: 'rejected', status: 409, message: 'card is locked' }]);

    await expect(cancelProviderCard(command, deps)).rejects.toThrow(PermanentCommandError);
    expect(publisher.published).toEqual([]);
  });

  it('when the provider answers a cancel against the contract once, then it is asked again and the card cancelled', async () => {
    const command = buildCancelCommand();
    const { provider, publisher, deps } = setUp([
      {
        kind: 'contract-violation',
        reason: 'Provider answered the cancel with the card ACTIVE, not CANCELLED',
      },
      { kind: 'cancelled' },
    ]);

    await cancelProviderCard(command, deps);

    expect(provider.cancelCalls).toHaveLength(2);
    expect(publisher.published.map((event) => event.type)).toEqual([EventType.cancelled]);
  });

  it('when a cancel answer breaks the contract but the provider’s record shows the card CANCELLED, then it is cancelled without asking again', async () => {
    const command = buildCancelCommand();
    const { provider, publisher, deps } = setUp(
      [{ kind: 'contract-violation', reason: 'HTTP 200 answer is not JSON' }],
      3,
      [
        {
          kind: 'found',
          cards: [
            {
              ...buildProviderCard(buildProvisionCommand()),
              id: command.data.providerCardId,
              reference: command.data.cardId,
              status: 'CANCELLED',
            },
          ],
        },
      ],
    );

    await cancelProviderCard(command, deps);

    expect(provider.cancelCalls).toHaveLength(1);
    expect(provider.findCalls).toEqual([command.data.cardId]);
    expect(publisher.published.map((event) => event.type)).toEqual([EventType.cancelled]);
  });

  it('when every cancel answer breaks the contract, then the command is dead-lettered and nothing is recorded as cancelled', async () => {
    const command = buildCancelCommand();
    const { provider, publisher, deps } = setUp(
      [{ kind: 'contract-violation', reason: 'Provider answered the cancel with another card' }],
      3,
    );

    await expect(cancelProviderCard(command, deps)).rejects.toThrow(PermanentCommandError);
    expect(provider.cancelCalls).toHaveLength(3);
    expect(publisher.published).toEqual([]);
  });

  it('when the provider is unavailable once, then the retry cancels the card', async () => {
    const command = buildCancelCommand();
    const { provider, publisher, deps } = setUp([
      { kind: 'unavailable', reason: 'HTTP 502' },
      { kind: 'cancelled' },
    ]);

    await cancelProviderCard(command, deps);

    expect(provider.cancelCalls).toHaveLength(2);
    expect(publisher.published).toHaveLength(1);
  });

  it('when the provider stays unavailable, then a transient error is thrown, so the consumer retries the command', async () => {
    const command = buildCancelCommand();
    const { provider, publisher, deps } = setUp([{ kind: 'unavailable', reason: 'HTTP 503' }], 3);

    await expect(cancelProviderCard(command, deps)).rejects.toThrow(ProviderUnavailableError);
    expect(provider.cancelCalls).toHaveLength(3);
    expect(publisher.published).toEqual([]);
  });
});
