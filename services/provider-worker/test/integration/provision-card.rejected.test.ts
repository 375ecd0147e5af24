import { EventType, FailureCode } from '@cards/contracts';

import { asType, buildProvisionCommand } from '../support/fakes';
import { startWorkerFlow, type WorkerFlow } from '../support/provider-worker';

describe('provisioning a card, when the provider rejects it', () => {
  let flow: WorkerFlow;

  beforeAll(async () => {
    flow = await startWorkerFlow('provision-rejected');
    await flow.provider.setFaults({ rejectRate: 1 });
  });

  afterAll(async () => {
    await flow.stop();
  });

  it('when a provision command arrives, then card.provisioning.failed says PROVIDER_REJECTED with the provider message, after one call', async () => {
    const command = buildProvisionCommand();
    const requestsBefore = await flow.provider.createRequests();

    await flow.sendCommands(command);

    const [message] = await flow.results.waitFor((read) => read.event?.subject === command.data.cardId);
    const failed = asType(message?.event, EventType.provisioningFailed);
    expect(failed.data).toEqual({
      cardId: command.data.cardId,
      code: FailureCode.PROVIDER_REJECTED,
      message: 'The provider declined to issue the card (injected rejection).',
      attempts: 1,
    });
    expect(await flow.provider.createRequests()).toBe(requestsBefore + 1);
    expect(await flow.provider.cardsFor(command.data.cardId)).toEqual([]);
  });
});
