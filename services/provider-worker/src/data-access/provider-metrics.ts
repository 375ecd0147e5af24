import { catalogueGauge, catalogueHistogram, type Registry } from '@cards/runtime';

import type {
  CancelCardOutcome,
  CreateCardOutcome,
  FindCardOutcome,
  ProviderClient,
} from '../domain/provider-client';
import type { CircuitBreaker, CircuitState } from './circuit-breaker';

/** The outcome label of one provider call. */
const outcomeLabel: Record<
  CreateCardOutcome['kind'] | CancelCardOutcome['kind'] | FindCardOutcome['kind'],
  string
> = {
  created: 'ok',
  cancelled: 'ok',
  found: 'ok',
  rejected: 'rejected',
  unavailable: 'unavailable',
  'contract-violation': 'contract_violation',
  'not-found': 'not_found',
};

/**
 * Times every call to the provider into `provider_request_duration_seconds{operation,outcome}`: a decorator of the
 * ProviderClient port, so neither the HTTP adapter nor the use cases know about metrics. Each call is one attempt;
 * calls the circuit breaker refuses never reach the client and are not counted.
 */
export function timedProviderClient(registry: Registry, client: ProviderClient): ProviderClient {
  const histogram = catalogueHistogram(registry, 'providerRequestDuration');
  const timed = async <Outcome extends { kind: keyof typeof outcomeLabel }>(
    operation: 'create' | 'cancel' | 'find',
    call: () => Promise<Outcome>,
  ): Promise<Outcome> => {
    const stop = histogram.startTimer({ operation });
    try {
      const outcome = await call();
      stop({ outcome: outcomeLabel[outcome.kind] });
      return outcome;
    } catch (error) {
      // The adapter maps every failure to an outcome; a throw is a bug, but the call still did not succeed.
      stop({ outcome: 'unavailable' });
      throw error;
    }
  };
  return {
    createCard: (request, idempotencyKey, trace) =>
      timed('create', () => client.createCard(request, idempotencyKey, trace)),
    cancelCard: (providerCardId, trace) => timed('cancel', () => client.cancelCard(providerCardId, trace)),
    findCardsByReference: (reference, trace) =>
      timed('find', () => client.findCardsByReference(reference, trace)),
  };
}

const stateLabel: Record<CircuitState, string> = { closed: 'closed', 'half-open': 'half_open', open: 'open' };

/** `provider_circuit_state{state}`: 1 for the breaker's current state and 0 for the others, read at scrape time. */
export function circuitStateMetric(registry: Registry, breaker: Pick<CircuitBreaker, 'state'>): void {
  catalogueGauge(registry, 'providerCircuitState', function collect() {
    for (const [state, label] of Object.entries(stateLabel)) {
      this.set({ state: label }, breaker.state === state ? 1 : 0);
    }
  });
}
