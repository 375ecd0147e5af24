import { EventType } from '@cards/contracts';
import { createLogger } from '@cards/platform';

import {
  buildCancelCommand,
  RecordingPublisher,
  retryWithoutDelay,
  ScriptedProvider,
} from '../../test/support/fakes';
import { cancelProviderCard } from './cancel-provider-card';
import { PermanentCommandError, ProviderUnavailableError } from './errors';
import type { CancelCardOutcome } from './provider-client';
import { resultEventId } from './result-events';

const logger = createLogger({ service: 'test', level: 'silent' });

function setUp(cancel: CancelCardOutcome[], maxAttempts = 3) {
  const provider = new ScriptedProvider({ cancel });
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
