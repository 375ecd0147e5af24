import { EventType } from '@cards/contracts';
import { eventually } from '@cards/test-support';

import { buildProvisionCommand } from '../support/fakes';
import { startWorkerFlow, type WorkerFlow } from '../support/provider-worker';

describe('stopping the worker while a card is between retries', () => {
  let flow: WorkerFlow;

  beforeAll(async () => {
    flow = await startWorkerFlow('worker-shutdown-mid-retry', {
      faultProxy: true,
      workerEnv: {
        PROVIDER_MAX_ATTEMPTS: '20',
        PROVIDER_RETRY_BUDGET_MS: '60000',
        PROVIDER_RETRY_BASE_MS: '2000',
        PROVIDER_RETRY_MAX_DELAY_MS: '2000',
        PROVIDER_BREAKER_MIN_CALLS: '100000',
      },
    });
  });

  afterAll(async () => {
    await flow.stop();
  });

  it('when SIGTERM arrives, then the worker exits 0 without waiting out the budget or failing the card, and the next worker provisions it', async () => {
    const proxy = flow.proxy!;
    const command = buildProvisionCommand();
    proxy.failCreatesOf(command.data.cardId);
    await flow.sendCommands(command);
    await eventually(() => {
      expect(proxy.failedCreates(command.data.cardId)).toBeGreaterThanOrEqual(2);
    });

    const stoppedAt = Date.now();
    const exitCode = await flow.worker.stop('SIGTERM');

    expect(exitCode).toBe(0);
    expect(Date.now() - stoppedAt).toBeLessThan(8000);
    expect(flow.results.eventsFor(command.data.cardId)).toEqual([]);

    // The command was left uncommitted: the group's next worker gets it again, with a fresh budget.
    proxy.stopFailing(command.data.cardId);
    await flow.startWorker('worker-shutdown-mid-retry-successor');
    const [message] = await flow.results.waitFor((read) => read.event?.subject === command.data.cardId, {
      timeoutMs: 30_000,
    });
    expect(message?.event?.type).toBe(EventType.provisioned);
  });
});
