import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, mkdirSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const ROOT = path.resolve(__dirname, '../../..');

/** A service running as a real OS process, as in production. */
export interface ServiceProcess {
  name: string;
  pid: number;
  /** Sends SIGTERM (or the given signal) and waits for the exit; resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** SIGKILL: the crash the fault tests need. */
  kill(): Promise<void>;
  exited: Promise<number | null>;
  child: ChildProcess;
}

/**
 * Starts a compiled entry point (`services/<service>/dist/<entry>.js`) as a separate process with `env` added to
 * this process's environment, logging to `.run/test-logs/<name>.log`, and waits until `readyUrl` (if given)
 * answers 2xx. Integration global set-up builds the workspaces first, so dist is current.
 */
export async function startServiceProcess(options: {
  name: string;
  service: string;
  entry: string;
  env: Record<string, string>;
  readyUrl?: string;
  readyTimeoutMs?: number;
  /**
   * A command prefix that runs the process elsewhere, such as a test host (`scripts/test-hosts.sh exec <net> <host>`).
   * It must exec the process in its place, so the pid is the service's own.
   */
  runOn?: readonly string[];
}): Promise<ServiceProcess> {
  const logDir = path.join(ROOT, '.run', 'test-logs');
  mkdirSync(logDir, { recursive: true });
  const log = createWriteStream(path.join(logDir, `${options.name}.log`), { flags: 'a' });
  const [command, ...args] = [
    ...(options.runOn ?? []),
    process.execPath,
    path.join(ROOT, 'services', options.service, 'dist', `${options.entry}.js`),
  ];
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  const state = { exited: false };
  void exited.then(() => {
    state.exited = true;
  });

  if (options.readyUrl) {
    const deadline = Date.now() + (options.readyTimeoutMs ?? 20_000);
    for (;;) {
      if (state.exited) {
        throw new Error(`${options.name} exited during start-up; see .run/test-logs/${options.name}.log`);
      }
      try {
        const response = await fetch(options.readyUrl);
        if (response.ok) {
          break;
        }
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(
          `${options.name} not ready at ${options.readyUrl}; see .run/test-logs/${options.name}.log`,
        );
      }
      await sleep(100);
    }
  }

  if (child.pid === undefined) {
    throw new Error(`${options.name} did not start`);
  }
  return {
    name: options.name,
    pid: child.pid,
    child,
    exited,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (!state.exited) {
        child.kill(signal);
      }
      return exited;
    },
    async kill() {
      if (!state.exited) {
        child.kill('SIGKILL');
      }
      await exited;
    },
  };
}

/** A free TCP port on 127.0.0.1, for a child process that must be told its port up front. */
export async function freeTcpPort(): Promise<number> {
  const { createServer } = await import('node:net');
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
