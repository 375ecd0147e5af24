import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const PROCS = path.resolve(__dirname, '../../../scripts/procs.sh');

/** The state letter of /proc/<pid>/stat (R, S, Z, …), or undefined when the pid is gone. */
function processState(pid: number): string | undefined {
  try {
    return /\) (\S)/.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}

/**
 * An exited process nobody reaps: a shell starts a short `sleep` in the background, then becomes a long `sleep`,
 * which never waits for children. The short one ends after the shell is gone (so the shell cannot reap it), and its
 * pid, which the shell printed, stays a zombie until the long `sleep` ends.
 */
async function makeZombie(): Promise<{ pid: number; parent: ChildProcess }> {
  const parent = spawn('sh', ['-c', 'sleep 0.3 & echo $!; exec sleep 60'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const pid = await new Promise<number>((resolve) => {
    parent.stdout.once('data', (chunk: Buffer) => {
      resolve(Number(chunk.toString().trim()));
    });
  });
  for (let waited = 0; processState(pid) !== 'Z' && waited < 250; waited++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return { pid, parent };
}

describe('scripts/procs.sh', () => {
  let runDir: string;
  let zombie: { pid: number; parent: ChildProcess };

  beforeAll(async () => {
    runDir = mkdtempSync(path.join(tmpdir(), 'procs-'));
    mkdirSync(path.join(runDir, 'pids'), { recursive: true });
    zombie = await makeZombie();
  });

  afterAll(() => {
    zombie.parent.kill('SIGKILL');
    rmSync(runDir, { recursive: true, force: true });
  });

  it('when a pid file names an exited process nobody has reaped yet (a zombie), then the process counts as stopped', async () => {
    expect(processState(zombie.pid)).toBe('Z');
    writeFileSync(path.join(runDir, 'pids', 'mock-provider.pid'), String(zombie.pid));

    const { stdout } = await run('bash', [PROCS, 'status'], {
      env: { ...process.env, PROCS_RUN_DIR: runDir },
    });

    expect(stdout).toContain('mock-provider: stopped');
  });

  it('when a pid file names a live process, then it counts as running', async () => {
    writeFileSync(path.join(runDir, 'pids', 'card-api.pid'), String(zombie.parent.pid));

    const { stdout } = await run('bash', [PROCS, 'status'], {
      env: { ...process.env, PROCS_RUN_DIR: runDir },
    });

    expect(stdout).toContain(`card-api: running (pid ${String(zombie.parent.pid)})`);
  });

  it('when the cluster profile is asked for, then it names every replica in start order; an unknown profile is a usage error', async () => {
    const env = { ...process.env, PROCS_RUN_DIR: runDir };
    const single = await run(PROCS, ['names'], { env });
    const cluster = await run(PROCS, ['names'], { env: { ...env, PROCS_PROFILE: 'cluster' } });

    expect(single.stdout.trim().split(' ')).toEqual([
      'mock-provider',
      'card-api',
      'outbox-relay',
      'card-events-consumer',
      'provider-worker',
    ]);
    expect(cluster.stdout.trim().split(' ')).toEqual([
      'mock-provider',
      'card-api',
      'card-api-2',
      'outbox-relay',
      'outbox-relay-2',
      'card-events-consumer',
      'card-events-consumer-2',
      'provider-worker',
      'provider-worker-2',
      'provider-worker-3',
    ]);
    await expect(run(PROCS, ['names'], { env: { ...env, PROCS_PROFILE: 'triple' } })).rejects.toMatchObject({
      code: 2,
    });
  });
});
