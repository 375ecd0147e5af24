import { ProblemSchema, UserSchema } from '@cards/contracts';
import { SignJWT } from 'jose';

import { start } from '../../src/main-api';
import { mintToken } from '../../src/entry-points/cli/dev-token';
import { buildCardRequest, startCardApi, type CardApiHarness } from '../support/card-api';

describe('authentication and authorisation', () => {
  let harness: CardApiHarness;

  beforeAll(async () => {
    harness = await startCardApi('auth');
  });

  afterAll(() => harness.stop());

  async function codeOf(response: Response): Promise<string> {
    return ProblemSchema.parse(await response.json()).code;
  }

  it('when no token is sent, then it is 401 UNAUTHENTICATED with a WWW-Authenticate challenge', async () => {
    const response = await harness.request('/v1/cards');
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer');
    expect(await codeOf(response)).toBe('UNAUTHENTICATED');
  });

  it('when the token is signed with another secret, then it is 401', async () => {
    const forged = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(harness.config.ADMIN_EXTERNAL_ID)
      .setIssuer(harness.config.JWT_ISSUER)
      .setAudience(harness.config.JWT_AUDIENCE)
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode('another-secret-another-secret-another'));
    const response = await harness.request('/v1/cards', { token: forged });
    expect(response.status).toBe(401);
  });

  it('when the token has expired, then it is 401', async () => {
    const expired = await mintToken(harness.config.ADMIN_EXTERNAL_ID, harness.config, { expiresIn: '-1m' });
    const response = await harness.request('/v1/cards', { token: expired });
    expect(response.status).toBe(401);
  });

  it('when the token is for another audience, then it is 401', async () => {
    const wrongAudience = await mintToken(harness.config.ADMIN_EXTERNAL_ID, {
      ...harness.config,
      JWT_AUDIENCE: 'someone-else',
    });
    const response = await harness.request('/v1/cards', { token: wrongAudience });
    expect(response.status).toBe(401);
  });

  it('when the token names no known user, then it is 403 FORBIDDEN', async () => {
    const stranger = await mintToken('nobody-we-know', harness.config);
    const response = await harness.request('/v1/cards', {
      method: 'POST',
      token: stranger,
      body: buildCardRequest(),
    });
    expect(response.status).toBe(403);
    expect(await codeOf(response)).toBe('FORBIDDEN');
  });

  it('when a user who is not an admin calls an admin route, then it is 403', async () => {
    const user = await harness.createUser();
    const response = await harness.request('/v1/admin/cards', { token: user.token });
    expect(response.status).toBe(403);
    const createUser = await harness.request('/v1/admin/users', {
      method: 'POST',
      token: user.token,
      body: JSON.stringify({ externalId: 'sneaky', email: 'sneaky@example.test' }),
    });
    expect(createUser.status).toBe(403);
  });

  it('when the admin creates a user, then it is 201 with the user, and the same externalId again is 409', async () => {
    const body = JSON.stringify({ externalId: 'alice-201', email: 'alice@example.test' });
    const created = await harness.request('/v1/admin/users', {
      method: 'POST',
      token: harness.adminToken,
      body,
    });
    expect(created.status).toBe(201);
    expect(UserSchema.parse(await created.json())).toMatchObject({ externalId: 'alice-201', role: 'user' });

    const again = await harness.request('/v1/admin/users', {
      method: 'POST',
      token: harness.adminToken,
      body,
    });
    expect(again.status).toBe(409);
    expect(await codeOf(again)).toBe('USER_ALREADY_EXISTS');
  });

  it('when the admin sends an invalid user, then it is 422 naming the fields', async () => {
    const response = await harness.request('/v1/admin/users', {
      method: 'POST',
      token: harness.adminToken,
      body: JSON.stringify({ externalId: '', email: 'not-an-email' }),
    });
    expect(response.status).toBe(422);
    const problem = ProblemSchema.parse(await response.json());
    expect(new Set(problem.errors?.map((error) => error.path))).toEqual(
      new Set(['body.email', 'body.externalId']),
    );
  });

  it('when the process restarts, then the first admin is not created twice', async () => {
    const [before] = await harness
      .db('users')
      .where({ role: 'admin' })
      .count<{ count: string }[]>({ count: '*' });
    const second = await start(harness.config);
    await second.stop();
    const [after] = await harness
      .db('users')
      .where({ role: 'admin' })
      .count<{ count: string }[]>({ count: '*' });
    expect(Number(after?.count)).toBe(Number(before?.count));
    expect(Number(after?.count)).toBe(1);
  });
});
