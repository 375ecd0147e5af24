import { ProviderAnswerInvalidError, ProviderUnavailableError } from '../domain/errors';
import { CircuitOpenError } from './circuit-breaker';
import { createCockatielCircuitBreaker } from './cockatiel-circuit-breaker';

const settings = { failureRate: 0.5, windowMs: 30_000, minCalls: 5, halfOpenAfterMs: 60_000 };

const failing = (): Promise<never> => Promise.reject(new ProviderUnavailableError('HTTP 503'));
const answering = (): Promise<string> => Promise.resolve('ok');

describe('createCockatielCircuitBreaker', () => {
  it('when a degraded provider fails a fifth of calls, in runs of five now and then, then the circuit stays closed', async () => {
    const breaker = createCockatielCircuitBreaker(settings);

    // 100 calls: 20 failures, in four runs of five in a row, as 60 calls in flight with a few hanging together give.
    const refusals: unknown[] = [];
    for (let call = 0; call < 100; call++) {
      const fails = call % 25 >= 20;
      await breaker.execute(fails ? failing : answering).catch((error: unknown) => {
        refusals.push(error);
      });
    }

    expect(breaker.state).toBe('closed');
    // Every failure reached the provider: none was refused by an open circuit.
    expect(refusals).toHaveLength(20);
    expect(refusals.every((error) => error instanceof ProviderUnavailableError)).toBe(true);
  });

  it('when most calls of the window fail, then the circuit opens and refuses the next call without making it', async () => {
    const breaker = createCockatielCircuitBreaker(settings);
    for (let call = 0; call < 6; call++) {
      await breaker.execute(failing).catch(() => undefined);
    }
    let made = false;

    const next = breaker.execute(() => {
      made = true;
      return answering();
    });

    await expect(next).rejects.toThrow(CircuitOpenError);
    expect(made).toBe(false);
    expect(breaker.state).toBe('open');
  });

  it('when fewer calls than the minimum were made, then even all of them failing leaves the circuit closed', async () => {
    const breaker = createCockatielCircuitBreaker(settings);
    for (let call = 0; call < 4; call++) {
      await breaker.execute(failing).catch(() => undefined);
    }

    expect(breaker.state).toBe('closed');
  });

  it('when the provider answers a 4xx or a broken body, then that counts as the provider being up', async () => {
    const breaker = createCockatielCircuitBreaker(settings);
    for (let call = 0; call < 20; call++) {
      await breaker.execute(() => Promise.reject(new Error('rejected: HTTP 422'))).catch(() => undefined);
      // A malformed body is asked again by the retry policy, but it is an answer: the provider is up.
      await breaker
        .execute(() => Promise.reject(new ProviderAnswerInvalidError('HTTP 201 answer is not JSON')))
        .catch(() => undefined);
    }

    expect(breaker.state).toBe('closed');
  });
});
