import type { ProviderFaults } from '@cards/contracts';

import { decideFault, FaultSettings, type Random } from './faults';

const NO_FAULTS: ProviderFaults = {
  latencyMs: 0,
  errorRate: 0,
  rejectRate: 0,
  hangRate: 0,
  malformedRate: 0,
  createdThenMalformedRate: 0,
  createdThenHangRate: 0,
  cancelledThenMalformedRate: 0,
  listCutRate: 0,
  outage: false,
};

/** A random that returns the given numbers in order and fails the test if asked for more. */
function scripted(...values: number[]): Random & { remaining: () => number } {
  const queue = [...values];
  const random = () => {
    const next = queue.shift();
    if (next === undefined) {
      throw new Error('random drawn more often than scripted');
    }
    return next;
  };
  return Object.assign(random, { remaining: () => queue.length });
}

describe('decideFault', () => {
  it('when no fault is switched on, then the request is served and nothing is drawn', () => {
    const random = scripted();

    expect(decideFault(NO_FAULTS, 'create', random)).toEqual({ delayMs: 0, outcome: 'none' });
  });

  it('when there is an outage, then it answers at once, ignoring latency and every rate', () => {
    const faults = { ...NO_FAULTS, outage: true, latencyMs: 5000, errorRate: 1, hangRate: 1 };

    expect(decideFault(faults, 'create', scripted())).toEqual({ delayMs: 0, outcome: 'outage' });
  });

  it('when only latency is set, then the request is served after it', () => {
    expect(decideFault({ ...NO_FAULTS, latencyMs: 300 }, 'other', scripted())).toEqual({
      delayMs: 300,
      outcome: 'none',
    });
  });

  it('when the hang roll hits, then it hangs before error, reject or malformed are rolled', () => {
    const faults = {
      ...NO_FAULTS,
      latencyMs: 10,
      hangRate: 0.5,
      errorRate: 1,
      rejectRate: 1,
      malformedRate: 1,
    };
    const random = scripted(0.49);

    expect(decideFault(faults, 'create', random)).toEqual({ delayMs: 10, outcome: 'hang' });
    expect(random.remaining()).toBe(0);
  });

  it('when the hang roll misses and the error roll hits, then it is an error', () => {
    const faults = { ...NO_FAULTS, hangRate: 0.5, errorRate: 0.5 };

    expect(decideFault(faults, 'create', scripted(0.5, 0.1)).outcome).toBe('error');
  });

  it('when a roll equals the rate, then it misses (a rate of 0.3 hits 30% of [0, 1))', () => {
    expect(decideFault({ ...NO_FAULTS, errorRate: 0.3 }, 'other', scripted(0.3)).outcome).toBe('none');
    expect(decideFault({ ...NO_FAULTS, errorRate: 0.3 }, 'other', scripted(0.2999)).outcome).toBe('error');
  });

  it('when the request is a create and the reject roll hits, then it is rejected', () => {
    const faults = { ...NO_FAULTS, errorRate: 0.5, rejectRate: 0.5, malformedRate: 1 };

    expect(decideFault(faults, 'create', scripted(0.9, 0.4)).outcome).toBe('reject');
  });

  it('when the request is not a create, then the reject rate does not apply and is not drawn', () => {
    const faults = { ...NO_FAULTS, rejectRate: 1, malformedRate: 0.5 };
    const random = scripted(0.7);

    expect(decideFault(faults, 'other', random).outcome).toBe('none');
    expect(random.remaining()).toBe(0);
  });

  it('when every other roll misses and the malformed roll hits, then the answer is malformed', () => {
    const faults = { ...NO_FAULTS, hangRate: 0.1, errorRate: 0.1, rejectRate: 0.1, malformedRate: 0.1 };

    expect(decideFault(faults, 'create', scripted(0.5, 0.5, 0.5, 0.05))).toEqual({
      delayMs: 0,
      outcome: 'malformed',
    });
  });

  it.each([
    ['create', { createdThenHangRate: 1 }, 'hang-after-effect'],
    ['create', { createdThenMalformedRate: 1 }, 'malformed-after-effect'],
    ['cancel', { cancelledThenMalformedRate: 1 }, 'malformed-after-effect'],
    ['list', { listCutRate: 1 }, 'cut-list'],
  ] as const)(
    'when a %s meets %j, then it is served and then lied about (%s)',
    (operation, rates, outcome) => {
      expect(decideFault({ ...NO_FAULTS, ...rates }, operation, scripted(0.5))).toEqual({
        delayMs: 0,
        outcome,
      });
    },
  );

  it('when a lie after the effect is for another operation, then it does not apply and is not drawn', () => {
    const random = scripted();
    const faults = {
      ...NO_FAULTS,
      createdThenHangRate: 1,
      createdThenMalformedRate: 1,
      cancelledThenMalformedRate: 1,
      listCutRate: 1,
    };

    expect(decideFault(faults, 'other', random)).toEqual({ delayMs: 0, outcome: 'none' });
  });
});

describe('FaultSettings', () => {
  const initial = { ...NO_FAULTS, latencyMs: 25 };

  it('when fields are changed, then only those fields change', () => {
    const settings = new FaultSettings(initial);

    expect(settings.update({ errorRate: 1 })).toEqual({ ...initial, errorRate: 1 });
    expect(settings.update({ outage: true })).toEqual({ ...initial, errorRate: 1, outage: true });
  });

  it('when reset, then the settings the process started with are back', () => {
    const settings = new FaultSettings(initial);
    settings.update({ latencyMs: 0, hangRate: 1 });

    expect(settings.reset()).toEqual(initial);
  });

  it('when a caller changes the object it got, then the settings in force do not change', () => {
    const settings = new FaultSettings(initial);
    const copy = settings.get();
    copy.outage = true;

    expect(settings.get().outage).toBe(false);
  });
});
