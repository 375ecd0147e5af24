import { randomUUID } from 'node:crypto';

import { ProblemSchema, UserSchema } from '@cards/contracts';

import { startCardApi, type CardApiHarness } from '../support/card-api';

/** Every operator route, with a body where it takes one. */
const ADMIN_ROUTES: {
  method: 'GET' | 'POST';
  path: (topic: string) => string;
  body?: (topic: string) => object;
}[] = [
  { method: 'GET', path: () => '/v1/admin/me' },
  { method: 'GET', path: () => '/v1/admin/users' },
  {
    method: 'POST',
    path: () => '/v1/admin/users',
    body: () => ({ externalId: `x-${randomUUID()}`, email: 'x@example.test' }),
  },
  { method: 'GET', path: () => '/v1/admin/cards' },
  { method: 'GET', path: () => '/v1/admin/cards/summary' },
  { method: 'GET', path: () => `/v1/admin/cards/${randomUUID()}` },
  { method: 'GET', path: () => '/v1/admin/pipeline' },
  { method: 'GET', path: (topic) => `/v1/admin/dead-letters?topic=${topic}` },
  {
    method: 'POST',
    path: () => '/v1/admin/dead-letters/replay',
    body: (topic) => ({ topic, eventId: randomUUID() }),
  },
  { method: 'GET', path: () => '/v1/admin/audit' },
];

describe('authorization of the operator routes', () => {
  let harness: CardApiHarness;
  let user: { id: string; externalId: string; token: string };
  let topic: string;

  beforeAll(async () => {
    harness = await startCardApi('admin-authorization');
    user = await harness.createUser();
    topic = harness.config.TOPIC_PROVISIONING_RESULTS;
  });

  afterAll(() => harness.stop());

  function call(route: (typeof ADMIN_ROUTES)[number], token?: string): Promise<Response> {
    return harness.request(route.path(topic), {
      method: route.method,
      ...(token && { token }),
      ...(route.body && { body: JSON.stringify(route.body(topic)) }),
    });
  }

  it.each(ADMIN_ROUTES.map((route) => [`${route.method} ${route.path('<topic>')}`, route] as const))(
    'when a user who is not an admin calls %s, then it is 403 FORBIDDEN, not cached',
    async (_name, route) => {
      const response = await call(route, user.token);

      expect(response.status).toBe(403);
      expect(ProblemSchema.parse(await response.json()).code).toBe('FORBIDDEN');
      expect(response.headers.get('cache-control')).toBe('private, no-cache');
    },
  );

  it.each(ADMIN_ROUTES.map((route) => [`${route.method} ${route.path('<topic>')}`, route] as const))(
    'when %s is called without a token, then it is 401 UNAUTHENTICATED, not cached',
    async (_name, route) => {
      const response = await call(route);

      expect(response.status).toBe(401);
      expect(ProblemSchema.parse(await response.json()).code).toBe('UNAUTHENTICATED');
      expect(response.headers.get('cache-control')).toBe('private, no-cache');
    },
  );

  it('when a user who is not an admin was refused, then nothing was audited and no user created', async () => {
    expect(
      await harness.db('audit_log').whereNot({ actor_external_id: harness.config.ADMIN_EXTERNAL_ID }),
    ).toEqual([]);
    expect(await harness.db('users').where('external_id', 'like', 'x-%')).toEqual([]);
  });

  it('when a bad token calls /v1/admin/me, then 401; when the admin calls it, then it is the admin', async () => {
    const bad = await harness.request('/v1/admin/me', { token: 'not.a.token' });
    const admin = await harness.request('/v1/admin/me', { token: harness.adminToken });

    expect(bad.status).toBe(401);
    expect(admin.status).toBe(200);
    expect(admin.headers.get('cache-control')).toBe('private, no-cache');
    expect(UserSchema.parse(await admin.json())).toMatchObject({
      externalId: harness.config.ADMIN_EXTERNAL_ID,
      role: 'admin',
    });
  });
});
