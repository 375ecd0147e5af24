import { checkEvent, EventType, FailureCode } from '@cards/contracts';
import { createLogger } from '@cards/runtime';

import {
  buildProviderCard,
  buildProvisionCommand,
  RecordingPublisher,
  retryWithoutDelay,
  ScriptedProvider,
} from '../../test/support/fakes';
import { RetryLaterError } from './errors';
import type { CreateCardOutcome, FindCardOutcome } from './provider-client';
import { provisionCard } from './provision-card';
import { resultEventId } from './result-events';

const logger = createLogger({ service: 'test', level: 'silent' });
const now = new Date('2026-11-28T10:00:00.000Z');

function setUp(create: CreateCardOutcome[], maxAttempts = 5, find?: FindCardOutcome[]) {
  const provider = new ScriptedProvider({ create, ...(find && { find }) });
  const publisher = new RecordingPublisher();
  const deps = { provider, publisher, retry: retryWithoutDelay(maxAttempts), logger, now: () => now };
  return { provider, publisher, deps };
}

describe('provisionCard', () => {
  it('when the provider creates the card, then card.provisioned carries its last4 and expiry', async () => {
    const command = buildProvisionCommand();
    const card = buildProviderCard(command, { last4: '1234', expMonth: 3, expYear: 2031 });
    const { provider, publisher, deps } = setUp([{ kind: 'created', card }]);

    await provisionCard(command, deps);

    expect(provider.createCalls).toEqual([
      {
        request: {
          reference: command.data.cardId,
          color: command.data.color,
          cardholderRef: command.data.cardholderRef,
        },
        idempotencyKey: command.data.cardId,
      },
    ]);
    expect(publisher.published).toEqual([
      {
        id: resultEventId(command.id, EventType.provisioned, card.id),
        type: EventType.provisioned,
        source: 'provider-worker',
        time: now.toISOString(),
        subject: command.data.cardId,
        correlationId: command.correlationId,
        traceparent: command.traceparent,
        data: {
          cardId: command.data.cardId,
          providerCardId: card.id,
          last4: '1234',
          expMonth: 3,
          expYear: 2031,
          attempts: 1,
        },
      },
    ]);
  });

  it('when the provider rejects the card, then card.provisioning.failed says PROVIDER_REJECTED with its message, after one call', async () => {
    const command = buildProvisionCommand();
    const { provider, publisher, deps } = setUp([
      { kind: 'rejected', status: 422, message: 'cardholder is blocked' },
    ]);

    await provisionCard(command, deps);

    expect(provider.createCalls).toHaveLength(1);
    expect(publisher.published).toEqual([
      expect.objectContaining({
        id: resultEventId(command.id, EventType.provisioningFailed),
        type: EventType.provisioningFailed,
        subject: command.data.cardId,
        data: {
          cardId: command.data.cardId,
          code: FailureCode.PROVIDER_REJECTED,
          message: 'cardholder is blocked',
          attempts: 1,
        },
      }),
    ]);
  });

  it('when every provider answer breaks the contract, then it asks again with the same key and finally fails PROVIDER_CONTRACT_VIOLATION', async () => {
    const command = buildProvisionCommand();
    const { provider, publisher, deps } = setUp(
      [{ kind: 'contract-violation', reason: 'Provider card breaks the contract: last4: Invalid string' }],
      3,
    );

    await provisionCard(command, deps);

    expect(provider.createCalls.map((call) => call.idempotencyKey)).toEqual([
      command.data.cardId,
      command.data.cardId,
      command.data.cardId,
    ]);
    expect(publisher.published.map((event) => event.data)).toEqual([
      {
        cardId: command.data.cardId,
        code: FailureCode.PROVIDER_CONTRACT_VIOLATION,
        message: 'Provider card breaks the contract: last4: Invalid string',
        attempts: 3,
      },
    ]);
  });

  it('when one answer breaks the contract and the next is right, then the card is provisioned (a degraded provider is not a dead one)', async () => {
    const command = buildProvisionCommand();
    const card = buildProviderCard(command);
    const { publisher, deps } = setUp([
      { kind: 'contract-violation', reason: 'HTTP 201 answer is not JSON' },
      { kind: 'created', card },
    ]);

    await provisionCard(command, deps);

    expect(publisher.published.map((event) => event.type)).toEqual([EventType.provisioned]);
    expect(publisher.published[0]?.data).toMatchObject({ providerCardId: card.id, attempts: 2 });
  });

  it('when the provider created the card but answered a broken body, then the lookup by reference finds it and the card is provisioned', async () => {
    const command = buildProvisionCommand();
    const card = buildProviderCard(command, { last4: '5150' });
    const { provider, publisher, deps } = setUp(
      [{ kind: 'contract-violation', reason: 'HTTP 201 answer is not JSON' }],
      5,
      [{ kind: 'found', cards: [card] }],
    );

    await provisionCard(command, deps);

    expect(provider.findCalls).toEqual([command.data.cardId]);
    expect(publisher.published).toEqual([
      expect.objectContaining({
        type: EventType.provisioned,
        data: expect.objectContaining({ providerCardId: card.id, last4: '5150' }) as unknown,
      }),
    ]);
  });

  it('when the first call created the card and timed out and the later ones failed, then the lookup finds it and the card is provisioned', async () => {
    const command = buildProvisionCommand();
    const card = buildProviderCard(command);
    const { publisher, deps } = setUp(
      [
        { kind: 'unavailable', reason: 'no answer within 3000 ms' },
        { kind: 'unavailable', reason: 'HTTP 503' },
      ],
      3,
      [{ kind: 'found', cards: [card] }],
    );

    await provisionCard(command, deps);

    expect(publisher.published.map((event) => event.type)).toEqual([EventType.provisioned]);
    expect(publisher.published[0]?.data).toMatchObject({ providerCardId: card.id, attempts: 3 });
  });

  it('when the lookup finds only a CANCELLED provider card, then the card fails as the create did (a cancelled card is not an active one)', async () => {
    const command = buildProvisionCommand();
    const cancelled = buildProviderCard(command, { status: 'CANCELLED', cancelledAt: now.toISOString() });
    const { publisher, deps } = setUp(
      [{ kind: 'contract-violation', reason: 'HTTP 201 answer is not JSON' }],
      5,
      [{ kind: 'found', cards: [cancelled] }],
    );

    await provisionCard(command, deps);

    expect(publisher.published).toEqual([
      expect.objectContaining({
        type: EventType.provisioningFailed,
        data: expect.objectContaining({ code: FailureCode.PROVIDER_CONTRACT_VIOLATION }) as unknown,
      }),
    ]);
  });

  it('when the lookup itself cannot reach the provider, then it is asked once and the card fails as the create did', async () => {
    const command = buildProvisionCommand();
    const { provider, publisher, deps } = setUp([{ kind: 'unavailable', reason: 'HTTP 503' }], 2, [
      { kind: 'unavailable', reason: 'HTTP 503' },
    ]);

    await provisionCard(command, deps);

    expect(provider.findCalls).toHaveLength(1);
    expect(publisher.published.map((event) => event.data)).toEqual([
      {
        cardId: command.data.cardId,
        code: FailureCode.PROVIDER_UNAVAILABLE,
        message: 'Provider unavailable after 2 attempts: HTTP 503',
        attempts: 2,
      },
    ]);
  });

  it('when the command arrives past its deadline, then no provider card is made and the card fails TIMED_OUT', async () => {
    const command = buildProvisionCommand();
    command.data.deadline = new Date(now.getTime() - 1000).toISOString();
    const { provider, publisher, deps } = setUp([{ kind: 'created', card: buildProviderCard(command) }]);

    await provisionCard(command, deps);

    expect(provider.createCalls).toEqual([]);
    expect(publisher.published.map((event) => event.data)).toEqual([
      expect.objectContaining({ cardId: command.data.cardId, code: FailureCode.TIMED_OUT, attempts: 0 }),
    ]);
  });

  it('when the deadline passes between attempts, then no further attempt is made and the card fails TIMED_OUT', async () => {
    const command = buildProvisionCommand();
    let clock = now.getTime();
    command.data.deadline = new Date(clock + 1500).toISOString();
    const { provider, publisher, deps } = setUp([{ kind: 'unavailable', reason: 'HTTP 503' }], 5);
    const create = provider.createCard.bind(provider);
    provider.createCard = (...args) => {
      clock += 1000;
      return create(...args);
    };

    await provisionCard(command, { ...deps, now: () => new Date(clock) });

    expect(provider.createCalls).toHaveLength(2);
    expect(publisher.published[0]?.data).toMatchObject({ code: FailureCode.TIMED_OUT, attempts: 2 });
  });

  it('when the deadline passed but an earlier attempt made the card, then the lookup finds it and the card is provisioned', async () => {
    const command = buildProvisionCommand();
    command.data.deadline = new Date(now.getTime() - 1).toISOString();
    const card = buildProviderCard(command);
    const { publisher, deps } = setUp([], 5, [{ kind: 'found', cards: [card] }]);

    await provisionCard(command, deps);

    expect(publisher.published.map((event) => event.type)).toEqual([EventType.provisioned]);
    // This delivery made no attempt, but the result must still be one the contract accepts (attempts ≥ 1: an
    // earlier delivery's attempt made the card); one it refused would be dead-lettered instead of published.
    expect(publisher.published.map((event) => checkEvent(event).ok)).toEqual([true]);
    expect(publisher.published[0]?.data).toMatchObject({ providerCardId: card.id, attempts: 1 });
  });

  it('when the provider answers a card of another reference, then it fails PROVIDER_CONTRACT_VIOLATION and publishes none of that card', async () => {
    const command = buildProvisionCommand();
    const foreign = buildProviderCard(buildProvisionCommand(), { last4: '9876' });
    const { publisher, deps } = setUp([{ kind: 'created', card: foreign }]);

    await provisionCard(command, deps);

    expect(publisher.published).toHaveLength(1);
    const [result] = publisher.published;
    expect(result?.type).toBe(EventType.provisioningFailed);
    expect(result?.data).toMatchObject({ code: FailureCode.PROVIDER_CONTRACT_VIOLATION, attempts: 1 });
    expect(JSON.stringify(result)).not.toContain(foreign.id);
    expect(JSON.stringify(result)).not.toContain(foreign.reference);
    expect(JSON.stringify(result)).not.toContain('9876');
  });

  it('when the provider is unavailable twice and then creates the card, then card.provisioned follows the third call', async () => {
    const command = buildProvisionCommand();
    const card = buildProviderCard(command);
    const { provider, publisher, deps } = setUp([
      { kind: 'unavailable', reason: 'HTTP 503' },
      { kind: 'unavailable', reason: 'no answer within 3000 ms' },
      { kind: 'created', card },
    ]);

    await provisionCard(command, deps);

    expect(provider.createCalls).toHaveLength(3);
    expect(new Set(provider.createCalls.map((call) => call.idempotencyKey))).toEqual(
      new Set([command.data.cardId]),
    );
    expect(publisher.published.map((event) => event.type)).toEqual([EventType.provisioned]);
    // The operators' timeline tells how many calls the provider needed.
    expect(publisher.published[0]?.data).toMatchObject({ attempts: 3 });
  });

  it('when the provider stays unavailable, then it fails PROVIDER_UNAVAILABLE after the attempts are used up', async () => {
    const command = buildProvisionCommand();
    const { provider, publisher, deps } = setUp([{ kind: 'unavailable', reason: 'HTTP 503' }], 4);

    await provisionCard(command, deps);

    expect(provider.createCalls).toHaveLength(4);
    expect(publisher.published.map((event) => event.data)).toEqual([
      {
        cardId: command.data.cardId,
        code: FailureCode.PROVIDER_UNAVAILABLE,
        message: 'Provider unavailable after 4 attempts: HTTP 503',
        attempts: 4,
      },
    ]);
  });

  it('when a transient failure is followed by a rejection, then the failure counts every attempt', async () => {
    const command = buildProvisionCommand();
    const { publisher, deps } = setUp([
      { kind: 'unavailable', reason: 'connection failed: ECONNRESET' },
      { kind: 'rejected', status: 409, message: 'duplicate' },
    ]);

    await provisionCard(command, deps);

    expect(publisher.published.map((event) => event.data)).toEqual([
      expect.objectContaining({ code: FailureCode.PROVIDER_REJECTED, attempts: 2 }),
    ]);
  });

  it('when the provider message is longer than an event allows, then it is cut to 1000 characters', async () => {
    const command = buildProvisionCommand();
    const { publisher, deps } = setUp([{ kind: 'rejected', status: 400, message: 'x'.repeat(5000) }]);

    await provisionCard(command, deps);

    expect(publisher.published[0]?.data).toMatchObject({ message: 'x'.repeat(1000) });
  });

  it('when the retry policy puts the command off (provider believed down), then nothing is published and the caller is told to retry later', async () => {
    const command = buildProvisionCommand();
    const { publisher, deps } = setUp([{ kind: 'unavailable', reason: 'HTTP 503' }]);
    deps.retry = { execute: () => Promise.reject(new RetryLaterError('the provider circuit is open')) };

    await expect(provisionCard(command, deps)).rejects.toThrow(RetryLaterError);

    expect(publisher.published).toEqual([]);
  });

  it('when the worker is stopping, then its signal reaches the retry policy', async () => {
    const command = buildProvisionCommand();
    const { deps } = setUp([{ kind: 'created', card: buildProviderCard(command) }]);
    const stopping = new AbortController();
    const signals: (AbortSignal | undefined)[] = [];
    const retry = deps.retry;
    deps.retry = {
      execute: (operation, signal) => {
        signals.push(signal);
        return retry.execute(operation, signal);
      },
    };

    await provisionCard(command, { ...deps, signal: stopping.signal });

    expect(signals).toEqual([stopping.signal]);
  });

  it('when publishing fails, then the error reaches the caller, so the command is not committed', async () => {
    const command = buildProvisionCommand();
    const { deps } = setUp([{ kind: 'created', card: buildProviderCard(command) }]);
    deps.publisher.publish = () => Promise.reject(new Error('broker down'));

    await expect(provisionCard(command, deps)).rejects.toThrow('broker down');
  });

  it('when the same command is handled twice, then both results have the same id', async () => {
    const command = buildProvisionCommand();
    const card = buildProviderCard(command);
    const { publisher, deps } = setUp([{ kind: 'created', card }]);

    await provisionCard(command, deps);
    await provisionCard(command, deps);

    const [first, second] = publisher.published;
    expect(first?.id).toBe(second?.id);
  });
});
