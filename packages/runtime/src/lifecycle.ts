import type { Logger } from 'pino';

import { ConfigError } from './config';
import { configureTracing, flushTracing, type TraceExporter } from './tracing';

/** A started process: something that can be asked to stop, releasing what it holds. */
export interface Stoppable {
  stop(): Promise<void>;
}

/**
 * Runs a process's `start()` as the main program: logs start-up failures, drains on SIGTERM/SIGINT within
 * `shutdownTimeoutMs`, and exits non-zero on any crash or when draining overruns (a crashed process never exits 0).
 */
export function runMain(options: {
  name: string;
  start: () => Promise<{ running: Stoppable; logger: Logger; shutdownTimeoutMs: number }>;
}): void {
  let shuttingDown = false;

  const crash = (error: unknown, logger?: Logger): never => {
    if (error instanceof ConfigError) {
      process.stderr.write(`${options.name}: ${error.message}\n`);
    } else if (logger) {
      logger.fatal({ err: error }, `${options.name} crashed`);
    } else {
      process.stderr.write(`${options.name}: failed to start: ${String(error)}\n`);
    }
    process.exit(1);
  };

  options.start().then(({ running, logger, shutdownTimeoutMs }) => {
    process.on('uncaughtException', (error) => crash(error, logger));
    process.on('unhandledRejection', (error) => crash(error, logger));
    const shutdown = (signal: NodeJS.Signals): void => {
      if (shuttingDown) {
        return;
      }
      shuttingDown = true;
      logger.info({ signal }, `${options.name} stopping`);
      const overrun = setTimeout(() => {
        logger.error({ shutdownTimeoutMs }, `${options.name} did not stop in time`);
        process.exit(1);
      }, shutdownTimeoutMs);
      overrun.unref();
      running.stop().then(
        () => {
          logger.info(`${options.name} stopped`);
          process.exit(0);
        },
        (error: unknown) => crash(error, logger),
      );
    };
    process.on('SIGTERM', shutdown);
    process.on('SIGINT', shutdown);
  }, crash);
}

/**
 * Runs a one-shot command (set-up, an operator task) as the main program: exit 0 when done, and on a failure one
 * line on stderr and exit 1, or the code `exitCodeFor` gives (a CLI's 2 for a wrong command line, say).
 */
export function runOnce(
  name: string,
  task: () => Promise<void>,
  options: { exitCodeFor?: (error: unknown) => number } = {},
): void {
  task().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(
        error instanceof ConfigError ? `${name}: ${error.message}\n` : `${name}: failed: ${String(error)}\n`,
      );
      process.exit(options.exitCodeFor?.(error) ?? 1);
    },
  );
}

/** Runs a long-lived process's `start(config)` as the main program (see runMain), with its shutdown budget. */
export function runService<
  Config extends { SHUTDOWN_TIMEOUT_MS: number; OTEL_TRACES_EXPORTER: TraceExporter },
>(
  name: string,
  loadConfig: () => Config,
  start: (config: Config) => Promise<Stoppable & { logger: Logger }>,
): void {
  runMain({
    name,
    start: async () => {
      const config = loadConfig();
      configureTracing({ exporter: config.OTEL_TRACES_EXPORTER, serviceName: name });
      const started = await start(config);
      // What the process really runs with, for whoever reads its log; the logger masks secrets and URL passwords.
      started.logger.info({ config }, 'effective configuration');
      return {
        // The spans of the last moments reach the collector before the process exits.
        running: { stop: () => started.stop().finally(flushTracing) },
        logger: started.logger,
        shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
      };
    },
  });
}
