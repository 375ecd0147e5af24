import { EventType, FailureCode } from '@cards/contracts';
import { eventually } from '@cards/test-support';

import { asType, buildProvisionCommand } from '../support/fakes';
import { startWorkerFlow, type WorkerFlow } from '../support/provider-worker';

const BUDGET_MS = 12_000;

describe('provisioning cards, when one card keeps failing on a partition others share', () => {
  let flow: WorkerFlow;

  beforeAll(async () => {
    flow = await startWorkerFlow('provision-non-blocking', {
      faultProxy: true,
      workerEnv: {
        // The time budget, not the attempts, ends the failing card; the circuit stays out of it (one card's
        // failures interleave with the others' successes, but a lone card could trip a low threshold).
        PROVIDER_MAX_ATTEMPTS: '20',
        PROVIDER_RETRY_BUDGET_MS: String(BUDGET_MS),
        PROVIDER_RETRY_BASE_MS: '1000',
        PROVIDER_RETRY_MAX_DELAY_MS: '2000',
        PROVIDER_BREAKER_MIN_CALLS: '100000',
      },
    });
  });

  afterAll(async () => {
    await flow.stop();
  });

  it('when a card is retrying, then later cards on the same partition are provisioned before its budget ends, and it fails PROVIDER_UNAVAILABLE after', async () => {
    const proxy = flow.proxy!;
    const failing = buildProvisionCommand();
    proxy.failCreatesOf(failing.data.cardId);
    await flow.sendCommandsTo(0, failing);
    await eventually(() => {
      expect(proxy.failedCreates(failing.data.cardId)).toBeGreaterThanOrEqual(2);
    });
    const retryingSince = Date.now();

    const others = Array.from({ length: 5 }, () => buildProvisionCommand());
    await flow.sendCommandsTo(0, ...others);

    const otherIds = new Set(others.map((command) => command.data.cardId));
    const provisioned = await flow.results.waitFor((read) => otherIds.has(read.event?.subject ?? ''), {
      count: others.length,
      timeoutMs: BUDGET_MS / 2,
    });
    expect(provisioned.map((read) => read.event?.type)).toEqual(
      Array(others.length).fill(EventType.provisioned),
    );
    expect(flow.results.eventsFor(failing.data.cardId)).toEqual([]);
    expect(Date.now() - retryingSince).toBeLessThan(BUDGET_MS / 2);

    const [message] = await flow.results.waitFor((read) => read.event?.subject === failing.data.cardId, {
      timeoutMs: 2 * BUDGET_MS,
    });
    const failed = asType(message?.event, EventType.provisioningFailed);
    expect(failed.data.code).toBe(FailureCode.PROVIDER_UNAVAILABLE);
    expect(failed.data.attempts).toBe(proxy.failedCreates(failing.data.cardId));
    // The time budget ran out, not the attempts.
    expect(failed.data.attempts).toBeLessThan(20);
  });
});
