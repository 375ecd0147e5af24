import { createLogger } from '@cards/runtime';

import { FakeCircuitBreaker } from '../../../test/support/fakes';
import { pauseWhileCircuitOpen } from './circuit-pause';

const logger = createLogger({ service: 'test', level: 'silent' });

function setUp() {
  const breaker = new FakeCircuitBreaker();
  const calls: string[] = [];
  const consumer = {
    pause: () => {
      calls.push('pause');
    },
    resume: () => {
      calls.push('resume');
    },
  };
  return { breaker, consumer, calls };
}

describe('pausing consumption while the provider circuit is open', () => {
  beforeEach(() => {
    jest.useFakeTimers();
  });

  afterEach(() => {
    jest.useRealTimers();
  });

  it('when the circuit opens, then consumption pauses, and resumes once a probe is due', () => {
    const { breaker, consumer, calls } = setUp();
    pauseWhileCircuitOpen({ breaker, consumer, halfOpenAfterMs: 5000, logger });

    breaker.setState('open');
    expect(calls).toEqual(['pause']);

    jest.advanceTimersByTime(4999);
    expect(calls).toEqual(['pause']);
    jest.advanceTimersByTime(1);
    expect(calls).toEqual(['pause', 'resume']);
  });

  it('when the probe fails, then consumption pauses again for another interval', () => {
    const { breaker, consumer, calls } = setUp();
    pauseWhileCircuitOpen({ breaker, consumer, halfOpenAfterMs: 1000, logger });
    breaker.setState('open');
    jest.advanceTimersByTime(1000);

    breaker.setState('half-open');
    breaker.setState('open');

    expect(calls).toEqual(['pause', 'resume', 'pause']);
    jest.advanceTimersByTime(1000);
    expect(calls).toEqual(['pause', 'resume', 'pause', 'resume']);
  });

  it('when the circuit closes, then consumption resumes and no probe timer is left behind', () => {
    const { breaker, consumer, calls } = setUp();
    pauseWhileCircuitOpen({ breaker, consumer, halfOpenAfterMs: 1000, logger });
    breaker.setState('open');

    breaker.setState('closed');
    jest.advanceTimersByTime(5000);

    expect(calls).toEqual(['pause', 'resume']);
  });

  it('when the circuit is already open as the watch starts, then consumption pauses at once', () => {
    const { breaker, consumer, calls } = setUp();
    breaker.setState('open');

    pauseWhileCircuitOpen({ breaker, consumer, halfOpenAfterMs: 1000, logger });

    expect(calls).toEqual(['pause']);
  });

  it('when the watch is stopped, then later changes and pending timers do nothing', () => {
    const { breaker, consumer, calls } = setUp();
    const stop = pauseWhileCircuitOpen({ breaker, consumer, halfOpenAfterMs: 1000, logger });
    breaker.setState('open');

    stop();
    jest.advanceTimersByTime(5000);
    breaker.setState('closed');

    expect(calls).toEqual(['pause']);
  });
});
