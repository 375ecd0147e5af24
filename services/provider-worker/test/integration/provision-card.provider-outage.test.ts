import { setTimeout as sleep } from 'node:timers/promises';

import { EventType } from '@cards/contracts';

import { buildProvisionCommand } from '../support/fakes';
import { startWorkerFlow, type WorkerFlow } from '../support/provider-worker';

const OUTAGE_MS = 8000;
const HALF_OPEN_AFTER_MS = 2000;
const COMMANDS = 10;

describe('provisioning cards, when the provider is down for a while (circuit breaker)', () => {
  let flow: WorkerFlow;

  beforeAll(async () => {
    // Defaults otherwise: 5 attempts per card, and the circuit opens after 5 transient failures in a row.
    flow = await startWorkerFlow('provision-provider-outage', {
      workerEnv: { PROVIDER_BREAKER_HALF_OPEN_AFTER_MS: String(HALF_OPEN_AFTER_MS) },
    });
  });

  afterAll(async () => {
    await flow.stop();
  });

  it('when 10 commands arrive during an 8 s outage, then few calls reach the provider and all 10 end card.provisioned once it is back', async () => {
    const commands = Array.from({ length: COMMANDS }, () => buildProvisionCommand());
    const cardIds = new Set(commands.map((command) => command.data.cardId));
    await flow.provider.setFaults({ outage: true });
    const requestsBefore = await flow.provider.createRequests();

    await flow.sendCommands(...commands);
    // The outage itself is the thing under test: it lasts a fixed time, whatever the worker does meanwhile.
    await sleep(OUTAGE_MS);
    const requestsDuringOutage = (await flow.provider.createRequests()) - requestsBefore;
    expect(flow.results.messages.filter((read) => cardIds.has(read.event?.subject ?? ''))).toEqual([]);
    await flow.provider.setFaults({ outage: false });

    const results = await flow.results.waitFor((read) => cardIds.has(read.event?.subject ?? ''), {
      count: COMMANDS,
      timeoutMs: 20_000,
    });
    expect(results.map((read) => read.event?.type)).toEqual(Array(COMMANDS).fill(EventType.provisioned));
    // Without the breaker: up to 10 × 5 calls. With it: at most one call per command in hand before the circuit
    // opens, then one probe per half-open interval.
    expect(requestsDuringOutage).toBeLessThanOrEqual(COMMANDS + OUTAGE_MS / HALF_OPEN_AFTER_MS + 1);
    expect(requestsDuringOutage).toBeGreaterThanOrEqual(5);
    for (const cardId of cardIds) {
      expect(await flow.provider.cardsFor(cardId)).toHaveLength(1);
    }
  });
});
