import { EventEmitter } from 'node:events';

import type { Logger } from '@cards/runtime';

/** Signals for tests and metrics. */
export interface PeriodicJobSignals {
  ran: [];
  failed: [error: unknown];
}

export interface PeriodicJobOptions {
  name: string;
  intervalMs: number;
  logger: Logger;
  /** One run; `signal` aborts at shutdown, so a long run can stop between steps. */
  run: (signal: AbortSignal) => Promise<void>;
  /** Whether the first run starts at once (default) or after one interval. */
  runAtStart?: boolean;
}

/**
 * Runs `run` every `intervalMs` inside a long-lived process. Runs never overlap (the next is scheduled when one
 * ends), the timer is unref'd so it never keeps a process alive, a failed run is logged and retried at the next
 * tick, and `stop()` waits for a run in progress so the caller can then close the pool it uses.
 */
export class PeriodicJob {
  readonly signals = new EventEmitter<PeriodicJobSignals>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private readonly shutdown = new AbortController();

  constructor(private readonly options: PeriodicJobOptions) {}

  start(): this {
    this.schedule(this.options.runAtStart === false ? this.options.intervalMs : 0);
    return this;
  }

  /** Runs once now (or joins the run in progress); for tests and operators. */
  runNow(): Promise<void> {
    this.running ??= this.runOnce().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** Cancels the next run and waits for the one in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.shutdown.abort();
    await this.running;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) {
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.runNow().then(() => {
        this.schedule(this.options.intervalMs);
      });
    }, delayMs);
    this.timer.unref();
  }

  private async runOnce(): Promise<void> {
    try {
      await this.options.run(this.shutdown.signal);
      this.signals.emit('ran');
    } catch (error) {
      if (this.shutdown.signal.aborted) {
        // Cut short by stop(): nothing went wrong.
        this.options.logger.debug({ err: error, job: this.options.name }, 'periodic job stopped mid-run');
      } else {
        this.options.logger.warn(
          { err: error, job: this.options.name },
          'periodic job failed; retrying next tick',
        );
      }
      this.signals.emit('failed', error);
    }
  }
}
