import { CallOutcomeWindow } from './call-outcome-window';

describe('the window of recent provider call outcomes', () => {
  it('when asked from a time on, then it counts the calls from that bucket to now, failures apart', () => {
    const window = new CallOutcomeWindow(10_000, 100);
    window.record(1_000, false);
    window.record(1_150, true);
    window.record(1_420, true);

    expect(window.tallyBack(1_500, 1_100, () => true)).toEqual({ calls: 2, failures: 2 });
    expect(window.tallyBack(1_500, 1_000, () => true)).toEqual({ calls: 3, failures: 2 });
  });

  it('when too few calls were made since then, then it goes further back until there are enough', () => {
    const window = new CallOutcomeWindow(10_000, 100);
    for (let at = 0; at < 1_000; at += 100) {
      window.record(at, false);
    }
    window.record(2_050, true);

    const tally = window.tallyBack(2_100, 2_000, (sofar) => sofar.calls >= 4);

    expect(tally).toEqual({ calls: 4, failures: 1 });
  });

  it('when calls are older than the retention, then they are forgotten, even once their slot is reused', () => {
    const window = new CallOutcomeWindow(1_000, 100);
    window.record(0, true);
    window.record(1_100, false);

    expect(window.tallyBack(5_000, 0, () => false)).toEqual({ calls: 0, failures: 0 });
    expect(window.tallyBack(1_150, 0, () => false)).toEqual({ calls: 1, failures: 0 });
  });
});
