import { randomUUID } from 'node:crypto';

import { EventType, type AnyCardEvent } from '@cards/contracts';
import { createLogger } from '@cards/platform';

import {
  buildCancelCommand,
  buildProviderCard,
  buildProvisionCommand,
  RecordingPublisher,
  retryWithoutDelay,
  ScriptedProvider,
} from '../../../test/support/fakes';
import { PermanentCommandError, ProviderUnavailableError } from '../../domain/errors';
import { createCommandHandler, isPermanent } from './provisioning-commands.consumer';

const logger = createLogger({ service: 'test', level: 'silent' });

describe('the provisioning commands handler', () => {
  it('when a provision command arrives, then the provider is asked and the result published', async () => {
    const command = buildProvisionCommand();
    const provider = new ScriptedProvider({
      create: [{ kind: 'created', card: buildProviderCard(command) }],
    });
    const publisher = new RecordingPublisher();
    const handle = createCommandHandler({ provider, publisher, retry: retryWithoutDelay(1), logger });

    await handle(command);

    expect(publisher.published.map((event) => event.type)).toEqual([EventType.provisioned]);
  });

  it('when a cancel command arrives, then the provider card is cancelled', async () => {
    const provider = new ScriptedProvider({ cancel: [{ kind: 'cancelled' }] });
    const publisher = new RecordingPublisher();
    const handle = createCommandHandler({ provider, publisher, retry: retryWithoutDelay(1), logger });

    await handle(buildCancelCommand());

    expect(publisher.published.map((event) => event.type)).toEqual([EventType.cancelled]);
  });

  it('when a result event arrives on the commands topic, then it is a permanent error (dead letter)', async () => {
    const provider = new ScriptedProvider({});
    const publisher = new RecordingPublisher();
    const handle = createCommandHandler({ provider, publisher, retry: retryWithoutDelay(1), logger });
    const cardId = randomUUID();
    const stray: AnyCardEvent = {
      id: randomUUID(),
      type: EventType.cancelled,
      source: 'somewhere',
      time: new Date().toISOString(),
      subject: cardId,
      data: { cardId, providerCardId: 'pc_1' },
    };

    const handled = handle(stray);

    await expect(handled).rejects.toThrow(PermanentCommandError);
    await expect(handled).rejects.toThrow('card.cancelled is not a command provider-worker handles');
    expect(provider.createCalls).toEqual([]);
    expect(publisher.published).toEqual([]);
  });

  it('when an error is permanent, then it skips retries; when transient or unknown, then it is retried', () => {
    expect(isPermanent(new PermanentCommandError('refused'))).toBe(true);
    expect(isPermanent(new ProviderUnavailableError('HTTP 503'))).toBe(false);
    expect(isPermanent(new Error('broker down'))).toBe(false);
  });
});
