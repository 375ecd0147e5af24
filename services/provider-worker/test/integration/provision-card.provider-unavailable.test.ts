import { EventType, FailureCode } from '@cards/contracts';

import { asType, buildProvisionCommand } from '../support/fakes';
import { startWorkerFlow, type WorkerFlow } from '../support/provider-worker';

describe('provisioning a card, when the provider stays unavailable', () => {
  let flow: WorkerFlow;

  beforeAll(async () => {
    flow = await startWorkerFlow('provision-unavailable', { workerEnv: { PROVIDER_MAX_ATTEMPTS: '3' } });
    await flow.provider.setFaults({ errorRate: 1 });
  });

  afterAll(async () => {
    await flow.stop();
  });

  it('when every call fails with 5xx, then it fails PROVIDER_UNAVAILABLE after exactly PROVIDER_MAX_ATTEMPTS calls', async () => {
    const command = buildProvisionCommand();
    const requestsBefore = await flow.provider.createRequests();

    await flow.sendCommands(command);

    const [message] = await flow.results.waitFor((read) => read.event?.subject === command.data.cardId);
    const failed = asType(message?.event, EventType.provisioningFailed);
    expect(failed.data).toEqual({
      cardId: command.data.cardId,
      code: FailureCode.PROVIDER_UNAVAILABLE,
      message: 'Provider unavailable after 3 attempts: HTTP 500',
      attempts: 3,
    });
    expect(await flow.provider.createRequests()).toBe(requestsBefore + 3);
    // Injected errors answer reads too; the provider must be healthy again to show it holds no card.
    await flow.provider.setFaults({ errorRate: 0 });
    expect(await flow.provider.cardsFor(command.data.cardId)).toEqual([]);
  });
});
