import { FakeCircuitBreaker } from '../../test/support/fakes';
import {
  CommandExpiredError,
  PermanentCommandError,
  ProviderUnavailableError,
  RetryLaterError,
} from '../domain/errors';
import {
  backoffDelayMs,
  createProviderRetryPolicy,
  type ProviderRetrySettings,
} from './provider-retry-policy';

const settings: ProviderRetrySettings = {
  maxAttempts: 5,
  budgetMs: 10_000,
  initialDelayMs: 100,
  maxDelayMs: 1000,
  outageFailureRate: 0.5,
  outageMinCalls: 5,
};

/** A policy on a fake clock: waiting moves the clock on at once, and every wait is recorded. */
function setUp(
  options: { settings?: Partial<ProviderRetrySettings>; threshold?: number; callMs?: number } = {},
) {
  let clock = 0;
  const waits: number[] = [];
  const breaker = new FakeCircuitBreaker(options.threshold);
  const policy = createProviderRetryPolicy(
    { ...settings, ...options.settings },
    {
      breaker,
      now: () => clock,
      random: () => 0.5,
      wait: (ms, signal) => {
        if (signal?.aborted) {
          return Promise.reject(new Error('aborted'));
        }
        waits.push(ms);
        clock += ms;
        return Promise.resolve();
      },
    },
  );
  /** An operation that answers from a script (the last entry repeats), each call taking `callMs` of the clock. */
  const scripted = (script: ('fail' | 'ok' | 'permanent')[]) => {
    let calls = 0;
    const operation = () => {
      calls += 1;
      clock += options.callMs ?? 0;
      const step = script[Math.min(calls, script.length) - 1];
      if (step === 'fail') {
        return Promise.reject(new ProviderUnavailableError('HTTP 503'));
      }
      if (step === 'permanent') {
        return Promise.reject(new PermanentCommandError({ code: 'CANCEL_REFUSED', message: 'refused' }));
      }
      return Promise.resolve('card');
    };
    return { operation, calls: () => calls };
  };
  return { policy, breaker, waits, scripted };
}

describe('the provider retry policy', () => {
  it('when the command has expired, then no attempt starts and the breaker sees no call', async () => {
    const { policy, breaker, scripted } = setUp();
    const { operation, calls } = scripted(['ok']);

    await expect(policy.execute(operation, undefined, { expired: () => true })).rejects.toThrow(
      CommandExpiredError,
    );
    expect(calls()).toBe(0);
    expect(breaker.calls).toBe(0);
  });

  it('when the command expires during its retries, then the next attempt does not start', async () => {
    const { policy, scripted } = setUp();
    const { operation, calls } = scripted(['fail']);

    await expect(policy.execute(operation, undefined, { expired: () => calls() >= 2 })).rejects.toThrow(
      CommandExpiredError,
    );
    expect(calls()).toBe(2);
  });

  it('when calls fail transiently and then succeed, then it retries with growing jittered delays', async () => {
    const { policy, waits, scripted } = setUp();
    const { operation, calls } = scripted(['fail', 'fail', 'fail', 'ok']);

    await expect(policy.execute(operation)).resolves.toBe('card');

    expect(calls()).toBe(4);
    // random() = 0.5 of a bound of 100, 200, 400 ms.
    expect(waits).toEqual([50, 100, 200]);
  });

  it('when every call fails transiently, then the last error is thrown after exactly maxAttempts calls', async () => {
    const { policy, scripted } = setUp({ settings: { maxAttempts: 3 } });
    const { operation, calls } = scripted(['fail']);

    await expect(policy.execute(operation)).rejects.toThrow(ProviderUnavailableError);

    expect(calls()).toBe(3);
  });

  it('when its attempts run out while the other commands fail too (an outage the circuit has not caught), then the command is put off, not failed', async () => {
    // A short outage: the circuit, which weighs a long window of earlier successes, stays closed.
    const { policy, breaker, scripted } = setUp({ settings: { maxAttempts: 3 } });

    const outcomes = await Promise.allSettled(
      Array.from({ length: 4 }, () => policy.execute(scripted(['fail']).operation)),
    );

    expect(breaker.state).toBe('closed');
    for (const outcome of outcomes) {
      expect(outcome.status).toBe('rejected');
      expect(outcome.status === 'rejected' && outcome.reason).toBeInstanceOf(RetryLaterError);
    }
    const [first] = outcomes;
    expect(first?.status === 'rejected' && String(first.reason)).toMatch(
      /the provider failed (\d+) of the other commands' \1 latest calls: an outage/,
    );
  });

  it('when its attempts run out while the other commands succeed, then the failure is its own and is thrown', async () => {
    const { policy, scripted } = setUp({ settings: { maxAttempts: 3 } });
    const failing = scripted(['fail']);

    const [outcome] = await Promise.allSettled([
      policy.execute(failing.operation),
      ...Array.from({ length: 6 }, () => policy.execute(scripted(['ok']).operation)),
    ]);

    expect(outcome.status === 'rejected' && outcome.reason).toBeInstanceOf(ProviderUnavailableError);
    expect(failing.calls()).toBe(3);
  });

  it("when too few other calls were made to tell, then the failure is thrown as the command's own", async () => {
    const { policy, scripted } = setUp({ settings: { maxAttempts: 3, outageMinCalls: 10 } });

    const [outcome] = await Promise.allSettled(
      Array.from({ length: 3 }, () => policy.execute(scripted(['fail']).operation)),
    );

    expect(outcome?.status === 'rejected' && outcome.reason).toBeInstanceOf(ProviderUnavailableError);
  });

  it('when the time budget runs out before the attempts, then no further call starts', async () => {
    // Each call takes 1 s of a 2.5 s budget: calls start at 0, ~1.05 and ~2.15 s; the third ends past the budget.
    const { policy, scripted } = setUp({ settings: { maxAttempts: 20, budgetMs: 2500 }, callMs: 1000 });
    const { operation, calls } = scripted(['fail']);

    await expect(policy.execute(operation)).rejects.toThrow(ProviderUnavailableError);

    expect(calls()).toBe(3);
  });

  it('when a delay would end past the budget, then it is cut to end with the budget', () => {
    expect(backoffDelayMs(4, { initialDelayMs: 100, maxDelayMs: 1000 }, 120, () => 0.99)).toBe(120);
    expect(backoffDelayMs(10, { initialDelayMs: 100, maxDelayMs: 1000 }, 60_000, () => 0.99)).toBe(990);
    expect(backoffDelayMs(1, { initialDelayMs: 100, maxDelayMs: 1000 }, 60_000, () => 0)).toBe(0);
  });

  it('when the error is not transient, then it is thrown at once', async () => {
    const { policy, scripted } = setUp();
    const { operation, calls } = scripted(['permanent']);

    await expect(policy.execute(operation)).rejects.toThrow(PermanentCommandError);

    expect(calls()).toBe(1);
  });

  it('when the circuit is open, then the call is not made and the command is put off (RetryLaterError), not failed', async () => {
    const { policy, breaker, scripted } = setUp();
    breaker.setState('open');
    const { operation, calls } = scripted(['ok']);

    await expect(policy.execute(operation)).rejects.toThrow(RetryLaterError);

    expect(calls()).toBe(0);
    expect(breaker.refused).toBe(1);
  });

  it('when a failure opens the circuit, then that failure is not charged: the command is put off before its attempts run out', async () => {
    // The circuit opens on the 3rd failure in a row, while this command could still make 5 calls.
    const { policy, scripted } = setUp({ threshold: 3 });
    const { operation, calls } = scripted(['fail']);

    const outcome = policy.execute(operation);

    await expect(outcome).rejects.toThrow(RetryLaterError);
    await expect(outcome).rejects.toThrow('the provider circuit opened after: HTTP 503');
    expect(calls()).toBe(3);
  });

  it('when the half-open probe fails, then the command is put off again, not failed', async () => {
    const { policy, breaker, scripted } = setUp({ threshold: 3, settings: { maxAttempts: 1 } });
    breaker.setState('half-open');
    const { operation, calls } = scripted(['fail']);

    await expect(policy.execute(operation)).rejects.toThrow(RetryLaterError);

    expect(calls()).toBe(1);
    expect(breaker.state).toBe('open');
  });

  it('when the half-open probe succeeds, then the circuit closes and the result comes back', async () => {
    const { policy, breaker, scripted } = setUp({ threshold: 3 });
    breaker.setState('half-open');

    await expect(policy.execute(scripted(['ok']).operation)).resolves.toBe('card');

    expect(breaker.state).toBe('closed');
  });

  it('when the worker stops during a backoff, then no further call starts and the command is put off', async () => {
    const { policy } = setUp();
    const stopping = new AbortController();
    let calls = 0;
    const operation = () => {
      calls += 1;
      stopping.abort();
      return Promise.reject(new ProviderUnavailableError('HTTP 503'));
    };

    await expect(policy.execute(operation, stopping.signal)).rejects.toThrow(
      'the worker is stopping; the command is left for redelivery',
    );

    expect(calls).toBe(1);
  });
});
