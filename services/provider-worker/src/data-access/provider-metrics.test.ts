import { createMetricsRegistry } from '@cards/runtime';
import { histogramCount, metricValue, parseExposition } from '@cards/test-support';

import type { CircuitState } from './circuit-breaker';
import type { CancelCardOutcome, CreateCardOutcome, ProviderClient } from '../domain/provider-client';
import { circuitStateMetric, timedProviderClient } from './provider-metrics';

describe('timedProviderClient', () => {
  it('when calls come back with each outcome, then each is observed by operation and outcome', async () => {
    const registry = createMetricsRegistry();
    const creates: CreateCardOutcome[] = [
      { kind: 'created', card: {} as never },
      { kind: 'rejected', status: 422, message: 'no' },
      { kind: 'unavailable', reason: 'timeout' },
      { kind: 'contract-violation', reason: 'bad body' },
    ];
    const cancels: CancelCardOutcome[] = [{ kind: 'cancelled' }, { kind: 'not-found' }];
    const client: ProviderClient = {
      createCard: () => Promise.resolve(creates.shift() ?? { kind: 'unavailable', reason: 'none left' }),
      cancelCard: () => Promise.resolve(cancels.shift() ?? { kind: 'unavailable', reason: 'none left' }),
      findCardsByReference: () => Promise.resolve({ kind: 'not-found' }),
    };
    const timed = timedProviderClient(registry, client);

    const outcomes = [];
    for (let i = 0; i < 4; i++) {
      outcomes.push((await timed.createCard({} as never, 'key')).kind);
    }
    outcomes.push((await timed.cancelCard('pc_1')).kind, (await timed.cancelCard('pc_2')).kind);

    expect(outcomes).toEqual([
      'created',
      'rejected',
      'unavailable',
      'contract-violation',
      'cancelled',
      'not-found',
    ]);
    const exposition = parseExposition(await registry.metrics());
    const count = (operation: string, outcome: string) =>
      histogramCount(exposition, 'provider_request_duration_seconds', { operation, outcome });
    expect(count('create', 'ok')).toBe(1);
    expect(count('create', 'rejected')).toBe(1);
    expect(count('create', 'unavailable')).toBe(1);
    expect(count('create', 'contract_violation')).toBe(1);
    expect(count('cancel', 'ok')).toBe(1);
    expect(count('cancel', 'not_found')).toBe(1);
  });
});

describe('circuitStateMetric', () => {
  it('when the breaker changes state, then the scrape shows 1 for the current state and 0 for the others', async () => {
    const registry = createMetricsRegistry();
    const breaker = { state: 'closed' as CircuitState };
    circuitStateMetric(registry, breaker);
    const states = async () => {
      const exposition = parseExposition(await registry.metrics());
      return Object.fromEntries(
        ['closed', 'half_open', 'open'].map((state) => [
          state,
          metricValue(exposition, 'provider_circuit_state', { state }),
        ]),
      );
    };

    expect(await states()).toEqual({ closed: 1, half_open: 0, open: 0 });
    breaker.state = 'open';
    expect(await states()).toEqual({ closed: 0, half_open: 0, open: 1 });
    breaker.state = 'half-open';
    expect(await states()).toEqual({ closed: 0, half_open: 1, open: 0 });
  });
});
