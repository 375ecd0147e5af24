import { EventType } from '@cards/contracts';
import { eventually } from '@cards/test-support';

import { buildProvisionCommand } from '../support/fakes';
import { startWorkerFlow, type WorkerFlow } from '../support/provider-worker';

describe('stopping the worker', () => {
  let flow: WorkerFlow;

  beforeAll(async () => {
    flow = await startWorkerFlow('worker-shutdown');
    // A slow provider, so the command is still in hand when SIGTERM arrives.
    await flow.provider.setFaults({ latencyMs: 1500 });
  });

  afterAll(async () => {
    await flow.stop();
  });

  it('when SIGTERM arrives during a provider call, then the worker finishes it, publishes the result and exits 0', async () => {
    const command = buildProvisionCommand();
    const requestsBefore = await flow.provider.createRequests();
    await flow.sendCommands(command);
    await eventually(async () => {
      expect(await flow.provider.createRequests()).toBeGreaterThan(requestsBefore);
    });

    const exitCode = await flow.worker.stop('SIGTERM');

    expect(exitCode).toBe(0);
    // Published before the process exited: nothing is waiting for a worker to come back.
    const [message] = await flow.results.waitFor((read) => read.event?.subject === command.data.cardId, {
      timeoutMs: 5000,
    });
    expect(message?.event?.type).toBe(EventType.provisioned);
  });
});
