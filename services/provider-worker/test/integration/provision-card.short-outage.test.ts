import { setTimeout as sleep } from 'node:timers/promises';

import { EventType } from '@cards/contracts';
import { eventually } from '@cards/test-support';

import { buildProvisionCommand } from '../support/fakes';
import { startWorkerFlow, type WorkerFlow } from '../support/provider-worker';

const MAX_ATTEMPTS = 3;
const WARM_UP = 20;
const COMMANDS = 10;

describe('provisioning cards, when an outage too short for the circuit breaker spends their attempts', () => {
  let flow: WorkerFlow;

  beforeAll(async () => {
    flow = await startWorkerFlow('provision-short-outage', {
      workerEnv: {
        // A few quick attempts, all spent inside the outage below...
        PROVIDER_MAX_ATTEMPTS: String(MAX_ATTEMPTS),
        PROVIDER_RETRY_BASE_MS: '50',
        PROVIDER_RETRY_MAX_DELAY_MS: '100',
        // ...while the breaker, weighing the warm-up's successes over a long window, stays closed: as after a busy
        // minute in production, where a few seconds of 503s do not reach its rate.
        PROVIDER_BREAKER_WINDOW_MS: '600000',
        PROVIDER_BREAKER_FAILURE_RATE: '0.99',
      },
    });
  });

  afterAll(async () => {
    await flow.stop();
  });

  it('when every command in hand fails all its attempts during the outage, then none fails and all end card.provisioned once it is back', async () => {
    const warmUp = Array.from({ length: WARM_UP }, () => buildProvisionCommand());
    await flow.sendCommands(...warmUp);
    const warmUpIds = new Set(warmUp.map((command) => command.data.cardId));
    await flow.results.waitFor((read) => warmUpIds.has(read.event?.subject ?? ''), { count: WARM_UP });

    const commands = Array.from({ length: COMMANDS }, () => buildProvisionCommand());
    const cardIds = new Set(commands.map((command) => command.data.cardId));
    await flow.provider.setFaults({ outage: true });
    const requestsBefore = await flow.provider.createRequests();
    await flow.sendCommands(...commands);
    // Every command has spent its attempts; the outage goes on a while, long enough for a failed card's result to
    // reach the topic.
    await eventually(
      async () => {
        expect(await flow.provider.createRequests()).toBeGreaterThanOrEqual(
          requestsBefore + COMMANDS * MAX_ATTEMPTS,
        );
      },
      { timeoutMs: 20_000 },
    );
    await sleep(2000);
    expect(flow.results.messages.filter((read) => cardIds.has(read.event?.subject ?? ''))).toEqual([]);
    await flow.provider.setFaults({ outage: false });

    const results = await flow.results.waitFor((read) => cardIds.has(read.event?.subject ?? ''), {
      count: COMMANDS,
      timeoutMs: 20_000,
    });
    expect(results.map((read) => read.event?.type)).toEqual(Array(COMMANDS).fill(EventType.provisioned));
    for (const cardId of cardIds) {
      expect(await flow.provider.cardsFor(cardId)).toHaveLength(1);
    }
  });
});
