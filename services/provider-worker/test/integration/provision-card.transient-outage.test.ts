import { EventType } from '@cards/contracts';
import { eventually } from '@cards/test-support';

import { asType, buildProvisionCommand } from '../support/fakes';
import { startWorkerFlow, type WorkerFlow } from '../support/provider-worker';

describe('provisioning a card, when the provider fails for a while', () => {
  let flow: WorkerFlow;

  beforeAll(async () => {
    // A budget that outlasts the outage below: up to 10 calls, backoff capped at 500 ms.
    flow = await startWorkerFlow('provision-outage', {
      workerEnv: { PROVIDER_MAX_ATTEMPTS: '10', PROVIDER_RETRY_BASE_MS: '100' },
    });
  });

  afterAll(async () => {
    await flow.stop();
  });

  it('when the provider answers 5xx and then recovers, then the retries end in card.provisioned', async () => {
    const command = buildProvisionCommand();
    await flow.provider.setFaults({ errorRate: 1 });
    const requestsBefore = await flow.provider.createRequests();

    await flow.sendCommands(command);
    // The worker is retrying once the provider has failed it twice; then the outage ends.
    await eventually(
      async () => {
        expect(await flow.provider.createRequests()).toBeGreaterThanOrEqual(requestsBefore + 2);
      },
      { timeoutMs: 20_000 },
    );
    await flow.provider.setFaults({ errorRate: 0 });

    const [message] = await flow.results.waitFor((read) => read.event?.subject === command.data.cardId);
    const provisioned = asType(message?.event, EventType.provisioned);
    const [providerCard] = await flow.provider.cardsFor(command.data.cardId);
    expect(provisioned.data.providerCardId).toBe(providerCard?.id);
    expect(flow.results.eventsFor(command.data.cardId)).toHaveLength(1);
  });
});
