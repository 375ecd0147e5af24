import { EventType, FailureCode } from '@cards/contracts';

import { asType, buildProvisionCommand } from '../support/fakes';
import { startWorkerFlow, type WorkerFlow } from '../support/provider-worker';

describe('provisioning a card past its saga deadline', () => {
  let flow: WorkerFlow;

  beforeAll(async () => {
    flow = await startWorkerFlow('provision-deadline');
  });

  afterAll(async () => {
    await flow.stop();
  });

  it('when a command arrives after its deadline, then the provider is not asked to create a card and the card fails TIMED_OUT', async () => {
    const command = buildProvisionCommand();
    command.data.deadline = new Date(Date.now() - 60_000).toISOString();
    const requestsBefore = await flow.provider.createRequests();

    await flow.sendCommands(command);

    const [message] = await flow.results.waitFor((read) => read.event?.subject === command.data.cardId);
    const failed = asType(message?.event, EventType.provisioningFailed);
    expect(failed.data).toMatchObject({
      cardId: command.data.cardId,
      code: FailureCode.TIMED_OUT,
      attempts: 0,
    });
    expect(await flow.provider.createRequests()).toBe(requestsBefore);
    expect(await flow.provider.cardsFor(command.data.cardId)).toEqual([]);
  });

  it('when a command arrives before its deadline, then the card is made as usual', async () => {
    const command = buildProvisionCommand();
    command.data.deadline = new Date(Date.now() + 600_000).toISOString();

    await flow.sendCommands(command);

    const [message] = await flow.results.waitFor((read) => read.event?.subject === command.data.cardId);
    expect(message?.event?.type).toBe(EventType.provisioned);
    expect(await flow.provider.cardsFor(command.data.cardId)).toHaveLength(1);
  });
});
