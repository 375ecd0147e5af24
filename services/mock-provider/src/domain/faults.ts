import type { ProviderFaults } from '@cards/contracts';

/** A source of uniform numbers in [0, 1); Math.random in production, a scripted sequence in tests. */
export type Random = () => number;

/** Which provider operation a request asks for; only creates can be rejected. */
export type ProviderOperation = 'create' | 'cancel' | 'list' | 'other';

/**
 * What to do with one request. `none` means serve it normally. `outage`, `hang`, `error`, `reject` and `malformed`
 * answer without any effect on the provider's cards. The lies of a real provider come after the effect: the card is
 * created (or cancelled) and then the answer is broken (`malformed-after-effect`) or never comes in time
 * (`hang-after-effect`); a list answer breaks off midway (`cut-list`).
 */
export type FaultOutcome =
  | 'none'
  | 'outage'
  | 'hang'
  | 'error'
  | 'reject'
  | 'malformed'
  | 'malformed-after-effect'
  | 'hang-after-effect'
  | 'cut-list';

/** The decision for one request: how long to wait first, then what to answer. */
export interface FaultDecision {
  delayMs: number;
  outcome: FaultOutcome;
}

/**
 * Decides the fault for one request, in a fixed order: an outage answers at once (no latency, as a load balancer
 * with no healthy backend would); otherwise the latency applies, then hang, error, reject (creates only),
 * malformed, and the lies after the effect (creates, cancels, lists) each get their own roll. A rate of 0 never draws, so a scripted random in tests is consumed only by the
 * faults that are switched on.
 */
export function decideFault(
  faults: ProviderFaults,
  operation: ProviderOperation,
  random: Random,
): FaultDecision {
  if (faults.outage) {
    return { delayMs: 0, outcome: 'outage' };
  }
  const roll = (rate: number): boolean => rate > 0 && random() < rate;
  const delayMs = faults.latencyMs;
  if (roll(faults.hangRate)) {
    return { delayMs, outcome: 'hang' };
  }
  if (roll(faults.errorRate)) {
    return { delayMs, outcome: 'error' };
  }
  if (operation === 'create' && roll(faults.rejectRate)) {
    return { delayMs, outcome: 'reject' };
  }
  // Decided before the effect: a malformed answer to a create must not leave an orphan provider card that the
  // caller, unable to read the answer, would never learn about (and so never cancel).
  if (roll(faults.malformedRate)) {
    return { delayMs, outcome: 'malformed' };
  }
  if (operation === 'create' && roll(faults.createdThenHangRate)) {
    return { delayMs, outcome: 'hang-after-effect' };
  }
  if (operation === 'create' && roll(faults.createdThenMalformedRate)) {
    return { delayMs, outcome: 'malformed-after-effect' };
  }
  if (operation === 'cancel' && roll(faults.cancelledThenMalformedRate)) {
    return { delayMs, outcome: 'malformed-after-effect' };
  }
  if (operation === 'list' && roll(faults.listCutRate)) {
    return { delayMs, outcome: 'cut-list' };
  }
  return { delayMs, outcome: 'none' };
}

/**
 * The fault settings in force: starts from the environment's, changed at runtime by operators and tests, and
 * reset back to the environment's. Changes replace whole fields; a field left out keeps its current value.
 */
export class FaultSettings {
  private current: ProviderFaults;

  constructor(private readonly initial: ProviderFaults) {
    this.current = { ...initial };
  }

  /** The settings in force now (a copy, so a caller cannot change them behind this object's back). */
  get(): ProviderFaults {
    return { ...this.current };
  }

  /** Replaces the given fields and returns the settings now in force. */
  update(changes: Partial<ProviderFaults>): ProviderFaults {
    this.current = { ...this.current, ...changes };
    return this.get();
  }

  /** Back to the settings the process started with. */
  reset(): ProviderFaults {
    this.current = { ...this.initial };
    return this.get();
  }
}
