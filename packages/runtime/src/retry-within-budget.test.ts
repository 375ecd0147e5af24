import { retryWithinBudget, RetryBudgetExhaustedError } from './retry-within-budget';

class Transient extends Error {}

const fast = {
  initialDelayMs: 1,
  maxDelayMs: 2,
  isTransient: (error: unknown) => error instanceof Transient,
};

describe('retryWithinBudget', () => {
  it('when transient failures come before a success, then it retries until the success', async () => {
    let calls = 0;
    const result = await retryWithinBudget(
      () => {
        calls += 1;
        return calls < 4 ? Promise.reject(new Transient('HTTP 503')) : Promise.resolve('listed');
      },
      { ...fast, budgetMs: 5000 },
    );

    expect(result).toBe('listed');
    expect(calls).toBe(4);
  });

  it('when a failure is not transient, then it is thrown at once, unretried', async () => {
    let calls = 0;
    const failing = retryWithinBudget(
      () => {
        calls += 1;
        return Promise.reject(new Error('contract violation'));
      },
      { ...fast, budgetMs: 5000 },
    );

    await expect(failing).rejects.toThrow('contract violation');
    expect(calls).toBe(1);
  });

  it('when transient failures outlast the budget, then it gives up with the attempts and the last error', async () => {
    let clock = 0;
    let calls = 0;
    const failing = retryWithinBudget(
      () => {
        calls += 1;
        clock += 400;
        return Promise.reject(new Transient(`HTTP 500 #${String(calls)}`));
      },
      { ...fast, budgetMs: 1000, now: () => clock },
    );

    await expect(failing).rejects.toThrow(RetryBudgetExhaustedError);
    await expect(failing).rejects.toThrow('gave up after 3 attempt(s): HTTP 500 #3');
  });

  it('when the signal aborts during a backoff, then it stops with the abort', async () => {
    const controller = new AbortController();
    const failing = retryWithinBudget(
      () => {
        controller.abort(new Error('shutting down'));
        return Promise.reject(new Transient('HTTP 503'));
      },
      { ...fast, initialDelayMs: 10_000, maxDelayMs: 10_000, budgetMs: 60_000, signal: controller.signal },
    );

    await expect(failing).rejects.toThrow();
  });
});
