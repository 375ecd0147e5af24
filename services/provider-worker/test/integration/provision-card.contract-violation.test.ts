import { EventType, FailureCode } from '@cards/contracts';

import { asType, buildProvisionCommand } from '../support/fakes';
import { startWorkerFlow, type WorkerFlow } from '../support/provider-worker';

describe('provisioning a card, when the provider answers something its contract does not allow', () => {
  let flow: WorkerFlow;

  beforeAll(async () => {
    flow = await startWorkerFlow('provision-malformed', { workerEnv: { PROVIDER_MAX_ATTEMPTS: '3' } });
    await flow.provider.setFaults({ malformedRate: 1 });
  });

  afterAll(async () => {
    await flow.stop();
  });

  it('when a provision command arrives, then it is asked again with the same key and finally fails PROVIDER_CONTRACT_VIOLATION naming the fields', async () => {
    const command = buildProvisionCommand();
    const requestsBefore = await flow.provider.createRequests();

    await flow.sendCommands(command);

    const [message] = await flow.results.waitFor((read) => read.event?.subject === command.data.cardId);
    const failed = asType(message?.event, EventType.provisioningFailed);
    expect(failed.data).toMatchObject({
      cardId: command.data.cardId,
      code: FailureCode.PROVIDER_CONTRACT_VIOLATION,
      attempts: 3,
    });
    expect(failed.data.message).toContain('last4');
    expect(failed.data.message).toContain('expYear');
    // The malformed card's values are not repeated into our events.
    expect(failed.data.message).not.toContain('12x');
    expect(await flow.provider.createRequests()).toBe(requestsBefore + 3);
  });
});
