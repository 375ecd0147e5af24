import { EventType } from '@cards/contracts';
import { eventually, histogramCount, metricValue, scrapeMetrics, type Exposition } from '@cards/test-support';

import { buildCancelCommand, buildProvisionCommand } from '../support/fakes';
import { startWorkerFlow, type WorkerFlow } from '../support/provider-worker';

const PROVIDER = 'provider_request_duration_seconds';

describe('provider-worker metrics on GET /metrics of its health server', () => {
  let flow: WorkerFlow;

  beforeAll(async () => {
    // The circuit opens after 3 transient failures in a row and probes again after 1 s, so an outage shows fast.
    flow = await startWorkerFlow('worker-metrics', {
      workerEnv: { PROVIDER_BREAKER_MIN_CALLS: '3', PROVIDER_BREAKER_HALF_OPEN_AFTER_MS: '1000' },
    });
  });

  afterAll(async () => {
    await flow.stop();
  });

  const scrape = (): Promise<Exposition> => scrapeMetrics(flow.worker.url);
  const handled = (exposition: Exposition): number =>
    metricValue(exposition, 'kafka_messages_handled_total', { topic: flow.topics.commands });
  const calls = (exposition: Exposition, operation: string, outcome: string): number =>
    histogramCount(exposition, PROVIDER, { operation, outcome });
  const lag = (exposition: Exposition): number =>
    metricValue(exposition, 'kafka_consumer_lag', { topic: flow.topics.commands });
  const circuit = (exposition: Exposition, state: string): number =>
    metricValue(exposition, 'provider_circuit_state', { state });

  it('when the provider issues, rejects or does not know a card, then each call is timed under its outcome and each command counted as handled', async () => {
    const before = await scrape();
    expect(circuit(before, 'closed')).toBe(1);
    const issued = buildProvisionCommand();
    const refused = buildProvisionCommand();

    await flow.sendCommands(issued);
    await flow.results.waitFor((read) => read.event?.subject === issued.data.cardId);
    await flow.provider.setFaults({ rejectRate: 1 });
    try {
      await flow.sendCommands(refused);
      await flow.results.waitFor((read) => read.event?.subject === refused.data.cardId);
    } finally {
      await flow.provider.setFaults({ rejectRate: 0 });
    }
    // Cancelling a card the provider never issued: it answers 404.
    await flow.sendCommands(buildCancelCommand());

    const after = await eventually(async () => {
      const exposition = await scrape();
      expect(handled(exposition)).toBe(handled(before) + 3);
      return exposition;
    });
    expect(calls(after, 'create', 'ok')).toBe(calls(before, 'create', 'ok') + 1);
    expect(calls(after, 'create', 'rejected')).toBe(calls(before, 'create', 'rejected') + 1);
    expect(calls(after, 'cancel', 'not_found')).toBe(calls(before, 'cancel', 'not_found') + 1);
    expect(metricValue(after, `${PROVIDER}_sum`)).toBeGreaterThan(metricValue(before, `${PROVIDER}_sum`));
  });

  it('when a poison message arrives, then kafka_dead_letters_total counts it under the commands topic', async () => {
    const deadLetters = (exposition: Exposition): number =>
      metricValue(exposition, 'kafka_dead_letters_total', { topic: flow.topics.commands });
    const before = await scrape();

    await flow.sendRaw({ key: 'poison', value: 'not a command' });

    await eventually(async () => {
      expect(deadLetters(await scrape())).toBe(deadLetters(before) + 1);
    });
  });

  it('when the provider is down, then calls count as unavailable, the circuit opens and lag builds up; once it is back, the circuit closes and the lag drains to 0', async () => {
    const before = await scrape();
    const commands = Array.from({ length: 4 }, () => buildProvisionCommand());
    await flow.provider.setFaults({ outage: true });
    try {
      await flow.sendCommands(...commands);
      await eventually(async () => {
        const exposition = await scrape();
        expect(circuit(exposition, 'open')).toBe(1);
        expect(circuit(exposition, 'closed')).toBe(0);
        expect(lag(exposition)).toBeGreaterThan(0);
        expect(calls(exposition, 'create', 'unavailable')).toBeGreaterThanOrEqual(
          calls(before, 'create', 'unavailable') + 3,
        );
      });
    } finally {
      await flow.provider.setFaults({ outage: false });
    }

    const cardIds = new Set(commands.map((command) => command.data.cardId));
    const results = await flow.results.waitFor((read) => cardIds.has(read.event?.subject ?? ''), {
      count: 4,
    });
    expect(results.map((read) => read.event?.type)).toEqual(Array(4).fill(EventType.provisioned));
    await eventually(async () => {
      const exposition = await scrape();
      expect(circuit(exposition, 'closed')).toBe(1);
      expect(lag(exposition)).toBe(0);
    });
  });
});
