import { randomUUID } from 'node:crypto';

import { EventType, type AnyCardEvent, type CardEvent, type ProviderCard } from '@cards/contracts';
import type { EventPublisher } from '@cards/messaging';

import {
  CircuitOpenError,
  type CircuitBreaker,
  type CircuitState,
} from '../../src/data-access/circuit-breaker';
import type { CancelCommand } from '../../src/domain/cancel-provider-card';
import { CommandExpiredError, isTransient } from '../../src/domain/errors';
import type {
  CancelCardOutcome,
  CreateCardOutcome,
  FindCardOutcome,
  ProviderClient,
} from '../../src/domain/provider-client';
import type { ProvisionCommand } from '../../src/domain/provision-card';
import type { AttemptOptions, RetryPolicy } from '../../src/domain/retry-policy';

/** A card.provision.requested command with fresh ids; override any field. */
export function buildProvisionCommand(
  overrides: Partial<Omit<ProvisionCommand, 'data'>> & { data?: Partial<ProvisionCommand['data']> } = {},
): ProvisionCommand {
  const cardId = overrides.data?.cardId ?? randomUUID();
  return {
    id: randomUUID(),
    type: EventType.provisionRequested,
    source: 'card-api',
    time: new Date().toISOString(),
    subject: cardId,
    correlationId: randomUUID(),
    traceparent: `00-${randomUUID().replaceAll('-', '')}-${randomUUID().replaceAll('-', '').slice(0, 16)}-01`,
    ...overrides,
    data: {
      cardId,
      color: 'gold',
      cardholderRef: randomUUID(),
      requestedAt: new Date().toISOString(),
      ...overrides.data,
    },
  };
}

/** A card.cancel.requested command with fresh ids. */
export function buildCancelCommand(data: Partial<CancelCommand['data']> = {}): CancelCommand {
  const cardId = data.cardId ?? randomUUID();
  return {
    id: randomUUID(),
    type: EventType.cancelRequested,
    source: 'card-api',
    time: new Date().toISOString(),
    subject: cardId,
    correlationId: randomUUID(),
    data: { cardId, providerCardId: `pc_${randomUUID()}`, reason: 'saga timed out', ...data },
  };
}

/** The card a well-behaved provider answers for a command. */
export function buildProviderCard(
  command: ProvisionCommand,
  overrides: Partial<ProviderCard> = {},
): ProviderCard {
  return {
    id: `pc_${randomUUID()}`,
    reference: command.data.cardId,
    color: command.data.color,
    cardholderRef: command.data.cardholderRef,
    status: 'ACTIVE',
    last4: '4242',
    expMonth: 9,
    expYear: 2030,
    createdAt: new Date().toISOString(),
    cancelledAt: null,
    ...overrides,
  };
}

/** A provider that answers from a script, one outcome per call (the last one repeats), and records the calls. */
export class ScriptedProvider implements ProviderClient {
  readonly createCalls: { request: Parameters<ProviderClient['createCard']>[0]; idempotencyKey: string }[] =
    [];
  readonly cancelCalls: string[] = [];
  readonly findCalls: string[] = [];

  constructor(
    private readonly script: {
      create?: CreateCardOutcome[];
      cancel?: CancelCardOutcome[];
      /** Lookups by reference; without a script the provider knows no card. */
      find?: FindCardOutcome[];
    },
  ) {}

  createCard(
    request: Parameters<ProviderClient['createCard']>[0],
    idempotencyKey: string,
  ): Promise<CreateCardOutcome> {
    this.createCalls.push({ request, idempotencyKey });
    return Promise.resolve(next(this.script.create, this.createCalls.length));
  }

  cancelCard(providerCardId: string): Promise<CancelCardOutcome> {
    this.cancelCalls.push(providerCardId);
    return Promise.resolve(next(this.script.cancel, this.cancelCalls.length));
  }

  findCardsByReference(reference: string): Promise<FindCardOutcome> {
    this.findCalls.push(reference);
    return Promise.resolve(
      this.script.find ? next(this.script.find, this.findCalls.length) : { kind: 'not-found' },
    );
  }
}

function next<T>(script: T[] | undefined, call: number): T {
  const outcome = script?.[Math.min(call, script.length) - 1];
  if (outcome === undefined) {
    throw new Error('the scripted provider has no answer for this call');
  }
  return outcome;
}

/** A publisher that keeps what it was given. */
export class RecordingPublisher implements EventPublisher {
  readonly published: AnyCardEvent[] = [];

  publish(events: readonly AnyCardEvent[]): Promise<void> {
    this.published.push(...events);
    return Promise.resolve();
  }
}

/**
 * Retries transient errors up to `maxAttempts` calls in all, without waiting, for use-case tests that are not about
 * the retry policy itself (provider-retry-policy.test.ts is).
 */
export function retryWithoutDelay(maxAttempts: number): RetryPolicy {
  return {
    async execute<T>(
      operation: () => Promise<T>,
      _signal?: AbortSignal,
      options?: AttemptOptions,
    ): Promise<T> {
      for (let attempt = 1; ; attempt++) {
        if (options?.expired?.()) {
          throw new CommandExpiredError();
        }
        try {
          return await operation();
        } catch (error) {
          if (!isTransient(error) || attempt >= maxAttempts) {
            throw error;
          }
        }
      }
    },
  };
}

/** The event, narrowed to the given type, or a failed expectation. */
export function asType<T extends AnyCardEvent['type']>(
  event: AnyCardEvent | undefined,
  type: T,
): CardEvent<T> {
  if (event?.type !== type) {
    throw new Error(`expected a ${type} event, got ${event?.type ?? 'nothing'}`);
  }
  return event as CardEvent<T>;
}

/**
 * A circuit breaker for use-case tests, minus the clock: `threshold` transient failures in a row open it; a test
 * half-opens it by hand (`setState`). What opens the real one (a failure rate over a window) is tested against
 * cockatiel itself, in cockatiel-circuit-breaker.test.ts; these tests are about what the policy does around it.
 */
export class FakeCircuitBreaker implements CircuitBreaker {
  state: CircuitState = 'closed';
  /** Calls that went through to the provider. */
  calls = 0;
  /** Calls refused while open. */
  refused = 0;
  private failures = 0;
  private readonly listeners = new Set<(state: CircuitState) => void>();

  constructor(private readonly threshold = Number.POSITIVE_INFINITY) {}

  async execute<T>(call: () => Promise<T>): Promise<T> {
    if (this.state === 'open') {
      this.refused += 1;
      throw new CircuitOpenError();
    }
    this.calls += 1;
    try {
      const result = await call();
      this.failures = 0;
      if (this.state === 'half-open') {
        this.setState('closed');
      }
      return result;
    } catch (error) {
      if (isTransient(error)) {
        this.failures += 1;
        if (this.state === 'half-open' || this.failures >= this.threshold) {
          this.setState('open');
        }
      }
      throw error;
    }
  }

  setState(state: CircuitState): void {
    this.state = state;
    for (const listener of this.listeners) {
      listener(state);
    }
  }

  onStateChange(listener: (state: CircuitState) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }
}
