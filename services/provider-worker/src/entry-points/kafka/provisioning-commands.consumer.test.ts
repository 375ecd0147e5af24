import { randomUUID } from 'node:crypto';

import { EventType, type AnyCardEvent } from '@cards/contracts';
import { isDeferredError, isPermanentError } from '@cards/messaging';
import { createLogger } from '@cards/runtime';

import {
  buildCancelCommand,
  buildProviderCard,
  buildProvisionCommand,
  FakeCircuitBreaker,
  RecordingPublisher,
  retryWithoutDelay,
  ScriptedProvider,
} from '../../../test/support/fakes';
import { createProviderRetryPolicy } from '../../data-access/provider-retry-policy';
import { PermanentCommandError, ProviderUnavailableError, RetryLaterError } from '../../domain/errors';
import { createCommandHandler } from './provisioning-commands.consumer';

const isPermanent = isPermanentError;
const isDeferral = isDeferredError;

const logger = createLogger({ service: 'test', level: 'silent' });
/** The circuit breaker's defaults, as production passes them. */
const OUTAGE = { outageFailureRate: 0.5, outageMinCalls: 5 };

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

  // The Kafka port's policy (packages/messaging/src/error-policy.ts) decides from the errors' kinds.
  const refused = new PermanentCommandError({ code: 'CANCEL_REFUSED', kind: 'conflict', message: 'refused' });

  it('when an error is permanent, then it skips retries; when transient or unknown, then it is retried', () => {
    expect(isPermanent(refused)).toBe(true);
    expect(isPermanent(new ProviderUnavailableError('HTTP 503'))).toBe(false);
    expect(isPermanent(new Error('broker down'))).toBe(false);
  });

  it('when the provider is believed down, then the error is a deferral: neither an attempt nor a dead letter', () => {
    expect(isDeferral(new RetryLaterError('the provider circuit is open'))).toBe(true);
    expect(isPermanent(new RetryLaterError('the provider circuit is open'))).toBe(false);
    expect(isDeferral(new ProviderUnavailableError('HTTP 503'))).toBe(false);
    expect(isDeferral(refused)).toBe(false);
  });

  it('when the circuit is open, then a provision command is put off with nothing published', async () => {
    const breaker = new FakeCircuitBreaker();
    breaker.setState('open');
    const provider = new ScriptedProvider({ create: [{ kind: 'unavailable', reason: 'HTTP 503' }] });
    const publisher = new RecordingPublisher();
    const retry = createProviderRetryPolicy(
      { maxAttempts: 5, budgetMs: 1000, initialDelayMs: 1, maxDelayMs: 1, ...OUTAGE },
      { breaker },
    );
    const handle = createCommandHandler({ provider, publisher, retry, logger });

    const handled = handle(buildProvisionCommand(), { signal: new AbortController().signal });

    await expect(handled).rejects.toThrow(RetryLaterError);
    expect(provider.createCalls).toEqual([]);
    expect(publisher.published).toEqual([]);
  });

  it('when the consumer is stopping, then a cancel command in its retries is put off, not dead-lettered', async () => {
    const provider = new ScriptedProvider({ cancel: [{ kind: 'unavailable', reason: 'HTTP 503' }] });
    const publisher = new RecordingPublisher();
    const stopping = new AbortController();
    const retry = createProviderRetryPolicy(
      { maxAttempts: 5, budgetMs: 60_000, initialDelayMs: 10_000, maxDelayMs: 10_000, ...OUTAGE },
      { breaker: new FakeCircuitBreaker(), random: () => 1 },
    );
    const handle = createCommandHandler({ provider, publisher, retry, logger });

    const handled = handle(buildCancelCommand(), { signal: stopping.signal });
    stopping.abort();

    await expect(handled).rejects.toThrow(RetryLaterError);
    expect(provider.cancelCalls).toHaveLength(1);
  });
});
