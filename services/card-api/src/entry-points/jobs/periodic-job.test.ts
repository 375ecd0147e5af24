import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';

import { createLogger } from '@cards/runtime';

import { PeriodicJob } from './periodic-job';

const logger = createLogger({ service: 'test', level: 'silent' });

describe('PeriodicJob', () => {
  it('when started, then it runs at once and again every interval', async () => {
    let runs = 0;
    const job = new PeriodicJob({
      name: 'test',
      intervalMs: 20,
      logger,
      run: () => {
        runs += 1;
        return Promise.resolve();
      },
    }).start();

    // Waits for the runs rather than a fixed time: a loaded machine delays timers, it does not skip them.
    const deadline = Date.now() + 5000;
    while (runs < 3 && Date.now() < deadline) {
      await sleep(10);
    }
    await job.stop();

    expect(runs).toBeGreaterThanOrEqual(3);
  });

  it('when runAtStart is false, then the first run waits one interval', async () => {
    let runs = 0;
    const job = new PeriodicJob({
      name: 'test',
      intervalMs: 200,
      logger,
      runAtStart: false,
      run: () => {
        runs += 1;
        return Promise.resolve();
      },
    }).start();

    await sleep(50);
    await job.stop();

    expect(runs).toBe(0);
  });

  it('when a run is slower than the interval, then runs never overlap', async () => {
    let active = 0;
    let maxActive = 0;
    const job = new PeriodicJob({
      name: 'test',
      intervalMs: 5,
      logger,
      run: async () => {
        active += 1;
        maxActive = Math.max(maxActive, active);
        await sleep(30);
        active -= 1;
      },
    }).start();
    void job.runNow();

    await sleep(100);
    await job.stop();

    expect(maxActive).toBe(1);
  });

  it('when stopped during a run, then stop waits for it and the run sees the abort', async () => {
    let finished = false;
    let aborted = false;
    let markStarted: () => void = () => undefined;
    const started = new Promise<void>((resolve) => {
      markStarted = resolve;
    });
    const job = new PeriodicJob({
      name: 'test',
      intervalMs: 1000,
      logger,
      run: async (signal) => {
        markStarted();
        await sleep(50);
        aborted = signal.aborted;
        finished = true;
      },
    }).start();

    await started;
    await job.stop();

    expect(finished).toBe(true);
    expect(aborted).toBe(true);
  });

  it('when a run fails, then it is reported and the next run still happens', async () => {
    let runs = 0;
    const job = new PeriodicJob({
      name: 'test',
      intervalMs: 10,
      logger,
      run: () => {
        runs += 1;
        return runs === 1 ? Promise.reject(new Error('boom')) : Promise.resolve();
      },
    });
    const failed = once(job.signals, 'failed');
    const ranAfterFailure = once(job.signals, 'ran');
    job.start();

    const [error] = (await failed) as [Error];
    await ranAfterFailure;
    await job.stop();

    expect(error.message).toBe('boom');
    expect(runs).toBeGreaterThanOrEqual(2);
  });
});
