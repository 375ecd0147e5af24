import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** The repository root (bench/lib/ is two levels down). */
export const ROOT = path.resolve(import.meta.dirname, '../..');

/** Where every process of a run logs, one file each; under .run/, so never committed. */
export const LOG_DIR = path.join(ROOT, '.run', 'bench', 'logs');

/** A process the benchmark started, measured by pid and stopped by it (never by name). */
export interface BenchProcess {
  name: string;
  pid: number;
  child: ChildProcess;
  /** Where its stdout and stderr go. */
  logFile: string;
  /** SIGTERM, then SIGKILL after a grace period; resolves with the exit code. */
  stop(): Promise<number | null>;
}

/**
 * Starts `node <script>` with `env` added, logging to .run/bench/logs/<name>.log, and waits until `readyUrl`
 * answers 2xx. `nodeArgs` go before the script (e.g. --cpu-prof).
 */
export async function startProcess(options: {
  name: string;
  script: string;
  env: Record<string, string>;
  readyUrl?: string;
  nodeArgs?: string[];
}): Promise<BenchProcess> {
  mkdirSync(LOG_DIR, { recursive: true });
  // The log file's descriptor is the child's stdout and stderr: its lines go straight to the file, never through
  // this process (whose event loop and CPU would otherwise pay for every line of every service).
  const logFile = path.join(LOG_DIR, `${options.name}.log`);
  const log = openSync(logFile, 'w');
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), path.join(ROOT, options.script)], {
    cwd: ROOT,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  // An object, not a let: the flag flips in a callback, which narrowing inside the loops below cannot see.
  const state = { gone: false };
  void exited.then(() => {
    state.gone = true;
  });
  const stop = async (): Promise<number | null> => {
    if (!state.gone) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      const code = await exited;
      clearTimeout(killer);
      return code;
    }
    return exited;
  };
  if (options.readyUrl) {
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (state.gone) {
        throw new Error(
          `${options.name} exited during start-up; see ${path.join(LOG_DIR, options.name)}.log`,
        );
      }
      try {
        if ((await fetch(options.readyUrl)).ok) {
          break;
        }
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`${options.name} not ready at ${options.readyUrl}`);
      }
      await sleep(50);
    }
  }
  if (child.pid === undefined) {
    throw new Error(`${options.name} did not start`);
  }
  return { name: options.name, pid: child.pid, child, logFile, stop };
}

/** A free TCP port on 127.0.0.1, for a process that must be told its port up front. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (typeof address === 'object' && address) {
          resolve(address.port);
        } else {
          reject(new Error('no port was assigned'));
        }
      });
    });
  });
}
