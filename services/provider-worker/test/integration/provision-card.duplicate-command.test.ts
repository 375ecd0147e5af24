import { EventType } from '@cards/contracts';

import { resultEventId } from '../../src/domain/result-events';
import { asType, buildProvisionCommand } from '../support/fakes';
import { startWorkerFlow, type WorkerFlow } from '../support/provider-worker';

describe('provisioning a card, when the command is delivered twice', () => {
  let flow: WorkerFlow;

  beforeAll(async () => {
    flow = await startWorkerFlow('provision-duplicate');
  });

  afterAll(async () => {
    await flow.stop();
  });

  it('when the same command arrives twice, then the provider holds one card and both results share one id', async () => {
    const command = buildProvisionCommand();

    // At-least-once upstream: the relay may publish the same outbox row again after a crash.
    await flow.sendCommands(command);
    await flow.sendCommands(command);

    const messages = await flow.results.waitFor((read) => read.event?.subject === command.data.cardId, {
      count: 2,
    });
    const [first, second] = messages.map((message) => asType(message.event, EventType.provisioned));
    expect(first?.id).toBe(resultEventId(command.id, EventType.provisioned, first?.data.providerCardId));
    expect(second?.id).toBe(first?.id);
    expect(second?.data).toEqual(first?.data);
    expect(await flow.provider.cardsFor(command.data.cardId)).toHaveLength(1);
  });
});
