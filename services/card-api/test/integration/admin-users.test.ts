import { randomUUID } from 'node:crypto';

import { AuditListSchema, ProblemSchema, UserListSchema, UserSchema } from '@cards/contracts';

import { runOps } from '../../src/main-ops';
import { startCardApi, type CardApiHarness } from '../support/card-api';

describe('GET/POST /v1/admin/users and the audit log', () => {
  let harness: CardApiHarness;
  /** Users created by this file, oldest first. */
  const created: string[] = [];

  beforeAll(async () => {
    harness = await startCardApi('admin-users');
    for (let index = 0; index < 4; index += 1) {
      created.push((await harness.createUser()).id);
    }
  });

  afterAll(() => harness.stop());

  async function createUser(externalId: string, requestId?: string): Promise<Response> {
    return harness.request('/v1/admin/users', {
      method: 'POST',
      token: harness.adminToken,
      body: JSON.stringify({ externalId, email: `${externalId}@example.test` }),
      ...(requestId && { headers: { 'x-request-id': requestId } }),
    });
  }

  async function audit(query = '') {
    const response = await harness.request(`/v1/admin/audit${query}`, { token: harness.adminToken });
    expect(response.status).toBe(200);
    return AuditListSchema.parse(await response.json());
  }

  it('when users are listed with limit=2, then the cursors walk every user once, newest first (the admin last)', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query = new URLSearchParams({ limit: '2', ...(cursor && { cursor }) });
      const response = await harness.request(`/v1/admin/users?${query.toString()}`, {
        token: harness.adminToken,
      });
      expect(response.status).toBe(200);
      expect(response.headers.get('cache-control')).toBe('private, no-cache');
      const page = UserListSchema.parse(await response.json());
      seen.push(...page.data.map((user) => user.id));
      cursor = page.nextCursor;
    } while (cursor);

    const everyone = await harness
      .db('users')
      .orderBy([
        { column: 'created_at', order: 'desc' },
        { column: 'id', order: 'desc' },
      ])
      .pluck<string[]>('id');
    expect(seen).toEqual(everyone);
    expect(seen.slice(0, 4)).toEqual([...created].reverse());
    expect(seen).toHaveLength(5);
  });

  it('when the admin creates a user, then an audit row names the admin, the new user, the request id and the external id', async () => {
    const externalId = `audited-${randomUUID()}`;
    const requestId = `req-${randomUUID()}`;

    const response = await createUser(externalId, requestId);

    expect(response.status).toBe(201);
    const user = UserSchema.parse(await response.json());
    const admin = await harness
      .db('users')
      .where({ external_id: harness.config.ADMIN_EXTERNAL_ID })
      .first<{ id: string }>('id');
    const { id, at, ...newest } = (await audit('?limit=1')).data[0]!;
    expect(id).toMatch(/^\d+$/);
    expect(Math.abs(Date.parse(at) - Date.now())).toBeLessThan(60_000);
    expect(newest).toEqual({
      actor: { userId: admin.id, externalId: harness.config.ADMIN_EXTERNAL_ID },
      action: 'user.create',
      target: user.id,
      requestId,
      // The same use case as the CLI's `users create`, so the same record: the role too.
      details: { externalId, role: 'user' },
    });
  });

  it('when the external id is taken, then it is 409 and nothing is audited', async () => {
    const externalId = `twice-${randomUUID()}`;
    expect((await createUser(externalId)).status).toBe(201);
    const before = await harness.db('audit_log').count<{ count: string }[]>({ count: '*' });

    const again = await createUser(externalId);

    expect(again.status).toBe(409);
    expect(ProblemSchema.parse(await again.json()).code).toBe('USER_ALREADY_EXISTS');
    expect(await harness.db('audit_log').count<{ count: string }[]>({ count: '*' })).toEqual(before);
  });

  it('when the operator CLI creates a user, then the audit row names ops-cli with no user', async () => {
    const externalId = `cli-${randomUUID()}`;

    await runOps(
      ['users', 'create', '--external-id', externalId, '--email', `${externalId}@example.test`, '--yes'],
      {
        out: () => undefined,
        loadConfig: () => harness.config,
      },
    );

    const newest = (await audit('?limit=1')).data[0];
    expect(newest).toMatchObject({
      actor: { userId: null, externalId: 'ops-cli' },
      action: 'user.create',
      requestId: null,
      details: { externalId, role: 'user' },
    });
  });

  it('when the audit log is paged, then every row comes once, newest first', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await audit(`?limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      seen.push(...page.data.map((entry) => entry.id));
      cursor = page.nextCursor;
    } while (cursor);

    const ids = await harness.db('audit_log').orderBy('id', 'desc').pluck<string[]>('id');
    expect(seen).toEqual(ids.map(String));
    expect(seen.length).toBeGreaterThanOrEqual(7);
  });

  it('when anything tries to change or delete an audit row, then the database refuses', async () => {
    await expect(harness.db('audit_log').update({ action: 'forged' })).rejects.toThrow(/append-only/);
    await expect(harness.db('audit_log').delete()).rejects.toThrow(/append-only/);
    await expect(harness.db.raw('TRUNCATE audit_log')).rejects.toThrow(/append-only/);
  });

  it('when the audit cursor is forged, then it is 422', async () => {
    const response = await harness.request('/v1/admin/audit?cursor=nope', { token: harness.adminToken });
    expect(response.status).toBe(422);
  });
});
