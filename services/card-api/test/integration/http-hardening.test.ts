import { ProblemSchema } from '@cards/contracts';

import { buildCardRequest, startCardApi, type CardApiHarness } from '../support/card-api';

describe('HTTP hardening', () => {
  describe('with the default settings', () => {
    let harness: CardApiHarness;

    beforeAll(async () => {
      harness = await startCardApi('http-hardening');
    });

    afterAll(() => harness.stop());

    it('when any route answers, then it carries the security headers and does not name the framework', async () => {
      for (const path of ['/healthz', '/v1/cards', '/docs/', '/no-such-route']) {
        const response = await harness.request(path, { token: harness.adminToken });
        expect(response.headers.get('x-content-type-options')).toBe('nosniff');
        expect(response.headers.get('x-frame-options')).toBe('SAMEORIGIN');
        expect(response.headers.get('strict-transport-security')).toMatch(/max-age=\d+/);
        expect(response.headers.get('content-security-policy')).toMatch(/default-src 'self'/);
        expect(response.headers.get('referrer-policy')).toBe('no-referrer');
        expect(response.headers.get('x-powered-by')).toBeNull();
      }
    });

    it('when a browser from any origin calls, then no CORS header lets it read the answer', async () => {
      const origin = 'https://evil.example';
      const simple = await harness.request('/v1/cards', { token: harness.adminToken, headers: { origin } });
      expect(simple.headers.get('access-control-allow-origin')).toBeNull();
      const preflight = await harness.request('/v1/cards', {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization,content-type',
        },
      });
      expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
      expect(preflight.headers.get('access-control-allow-methods')).toBeNull();
    });

    it('when an unexpected error happens, then the 500 says nothing of the internals: no stack, no SQL, no table', async () => {
      const user = await harness.createUser();
      // Breaking the schema under the running API is the surest way to an error no code path expects.
      await harness.db.raw('ALTER TABLE cards RENAME TO cards_moved_away');
      try {
        const response = await harness.request('/v1/cards', { token: user.token });
        expect(response.status).toBe(500);
        expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
        const text = await response.text();
        expect(ProblemSchema.parse(JSON.parse(text))).toMatchObject({ code: 'INTERNAL', status: 500 });
        expect(text).not.toMatch(/\bat \S+ \(|\.ts:\d+|\.js:\d+/);
        expect(text).not.toMatch(/cards|relation|select|postgres|knex/i);
      } finally {
        await harness.db.raw('ALTER TABLE cards_moved_away RENAME TO cards');
      }
    });
  });

  describe('with CORS origins configured', () => {
    const allowed = 'https://app.example.com';
    let harness: CardApiHarness;

    beforeAll(async () => {
      harness = await startCardApi('http-cors', { CORS_ALLOWED_ORIGINS: allowed });
    });

    afterAll(() => harness.stop());

    it('when a configured origin calls, then it may send our headers and read the ones a client needs', async () => {
      const preflight = await harness.request('/v1/cards', {
        method: 'OPTIONS',
        headers: {
          origin: allowed,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization,content-type,idempotency-key',
        },
      });
      expect(preflight.status).toBe(204);
      expect(preflight.headers.get('access-control-allow-origin')).toBe(allowed);
      expect(preflight.headers.get('access-control-allow-headers')).toMatch(/Idempotency-Key/);
      const created = await harness.request('/v1/cards', {
        method: 'POST',
        token: harness.adminToken,
        headers: { origin: allowed },
        body: buildCardRequest(),
      });
      expect(created.status).toBe(202);
      expect(created.headers.get('access-control-allow-origin')).toBe(allowed);
      expect(created.headers.get('access-control-expose-headers')).toMatch(/Location/);
      expect(created.headers.get('access-control-allow-credentials')).toBeNull();
    });

    it('when another origin calls, then it is still not allowed', async () => {
      const response = await harness.request('/v1/cards', {
        token: harness.adminToken,
        headers: { origin: 'https://app.example.com.evil.example' },
      });
      expect(response.headers.get('access-control-allow-origin')).toBeNull();
    });
  });
});
