import { execFile } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync, appendFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import { createTestDatabase, type TestDatabase } from '@cards/test-support';

const run = promisify(execFile);

/**
 * A PostgreSQL server of the cluster fault run's own, listening on the machine's address of the test network, so
 * that processes on test hosts reach it across a link the run can cut (the machine's server listens on 127.0.0.1
 * alone, which a host's namespace cannot reach). Trust authentication, no fsync: a throw-away server. PostgreSQL
 * refuses to run as root, so as root it runs as the `postgres` user.
 */
export class TestPostgres {
  private constructor(
    private readonly directory: string,
    private readonly binDir: string,
    private readonly asPostgres: string[],
    readonly host: string,
    readonly port: number,
  ) {}

  static async start(host: string, port: number): Promise<TestPostgres> {
    const { stdout } = await run('pg_config', ['--bindir']);
    const binDir = stdout.trim();
    const directory = mkdtempSync(path.join(tmpdir(), 'test-postgres-'));
    const asPostgres = userInfo().uid === 0 ? ['runuser', '-u', 'postgres', '--'] : [];
    if (asPostgres.length > 0) {
      const { stdout: ids } = await run('id', ['-u', 'postgres']);
      chownSync(directory, Number(ids.trim()), -1);
    }
    const server = new TestPostgres(directory, binDir, asPostgres, host, port);
    const data = path.join(directory, 'data');
    await server.pg('initdb', '-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync');
    appendFileSync(path.join(data, 'pg_hba.conf'), `host all all ${host}/24 trust\n`);
    await server.pg(
      'pg_ctl',
      ...['-D', data, '-l', path.join(directory, 'server.log'), '-w', 'start'],
      '-o',
      `-c listen_addresses=${host} -p ${port} -k ${directory} -c fsync=off -c max_connections=300`,
    );
    return server;
  }

  url(database = 'postgres'): string {
    return `postgres://postgres@${this.host}:${this.port}/${database}`;
  }

  createDatabase(label: string): Promise<TestDatabase> {
    return createTestDatabase(label, this.url());
  }

  async stop(): Promise<void> {
    await this.pg('pg_ctl', '-D', path.join(this.directory, 'data'), '-m', 'immediate', 'stop').catch(
      () => undefined,
    );
    rmSync(this.directory, { recursive: true, force: true });
  }

  private async pg(program: string, ...args: string[]): Promise<void> {
    const [command, ...prefix] = [...this.asPostgres, path.join(this.binDir, program)];
    await run(command, [...prefix, ...args], { timeout: 60_000 });
  }
}
