import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';

import { UserSchema } from '@cards/contracts';

import { startCardApi, type CardApiHarness } from '../support/card-api';

const ROOT = path.resolve(__dirname, '../../../..');
const CLI = path.join(ROOT, 'services/card-api/dist/main-ops.js');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

describe('operator commands users create and token mint', () => {
  let harness: CardApiHarness;

  /** Runs the compiled CLI (integration global set-up builds it) with this file's database and token settings. */
  function ops(args: string[], env: Record<string, string> = {}): Promise<Run> {
    return new Promise((resolve) => {
      execFile(
        process.execPath,
        [CLI, ...args],
        {
          cwd: ROOT,
          env: { ...process.env, DATABASE_URL: harness.database.url, LOG_LEVEL: 'silent', ...env },
        },
        (error, stdout, stderr) => {
          resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
        },
      );
    });
  }

  beforeAll(async () => {
    harness = await startCardApi('ops-users-and-tokens');
  });

  afterAll(() => harness.stop());

  it('when a user is created, then it is printed and stored; the same external id again fails with one line', async () => {
    const externalId = `ops-user-${randomUUID()}`;

    const created = await ops([
      'users',
      'create',
      '--external-id',
      externalId,
      '--email',
      'ops@example.test',
      '--yes',
    ]);
    const again = await ops([
      'users',
      'create',
      '--external-id',
      externalId,
      '--email',
      'other@example.test',
      '--yes',
    ]);

    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(
      new RegExp(
        `^created user ${externalId}: id=[0-9a-f-]{36} role=user email=ops@example\\.test created_at=\\S+Z\\n$`,
      ),
    );
    expect(again).toEqual({
      code: 1,
      stdout: '',
      stderr: `main-ops: failed: Error: a user with external id "${externalId}" already exists\n`,
    });
    expect(await harness.db('users').where({ external_id: externalId }).first('email', 'role')).toEqual({
      email: 'ops@example.test',
      role: 'user',
    });
  });

  it('when an admin is created with --json and given a minted token, then card-api accepts the token as that admin', async () => {
    const externalId = `ops-admin-${randomUUID()}`;

    const created = await ops([
      'users',
      'create',
      '--external-id',
      externalId,
      '--email',
      'a@example.test',
      '--admin',
      '--json',
      '--yes',
    ]);
    const minted = await ops(['token', 'mint', externalId, '--expires-in', '5m']);

    expect(UserSchema.parse(JSON.parse(created.stdout))).toMatchObject({ externalId, role: 'admin' });
    expect(minted.code).toBe(0);
    const token = minted.stdout.trim();
    const adminOnly = await harness.request('/v1/admin/cards', { token });
    expect(adminOnly.status).toBe(200);
    const [, payload] = token.split('.');
    const claims = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString()) as {
      sub: string;
      exp: number;
      iat: number;
    };
    expect(claims.sub).toBe(externalId);
    expect(claims.exp - claims.iat).toBe(300);
  });

  it('when no subject is given, then the token is for the first admin, like make token', async () => {
    const minted = await ops(['token', 'mint', '--json']);

    const { token, sub } = JSON.parse(minted.stdout) as { token: string; sub: string; expiresAt: string };
    expect(sub).toBe(harness.config.ADMIN_EXTERNAL_ID);
    expect((await harness.request('/v1/admin/cards', { token })).status).toBe(200);
  });

  it('when NODE_ENV is production, then minting is refused with one line and exit 1, whatever else is set', async () => {
    const production = {
      NODE_ENV: 'production',
      JWT_SECRET: `a-production-secret-${randomUUID()}`,
      JWT_ISSUER: 'https://idp.example',
      JWT_AUDIENCE: 'card-api',
    };

    const refused = await ops(['token', 'mint', 'someone'], production);
    const misconfigured = await ops(['token', 'mint', 'someone'], { NODE_ENV: 'production' });

    expect(refused).toEqual({
      code: 1,
      stdout: '',
      stderr: 'main-ops: failed: Error: refusing to mint a development token with NODE_ENV=production\n',
    });
    expect(misconfigured.code).toBe(1);
    expect(misconfigured.stdout).toBe('');
    expect(misconfigured.stderr).toMatch(
      /^main-ops: failed: Error: invalid configuration: JWT_SECRET: .*\n$/,
    );
  });
});
