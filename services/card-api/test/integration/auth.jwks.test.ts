import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { ProblemSchema } from '@cards/contracts';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';

import { DEVELOPMENT_JWT_SECRET } from '../../src/config';
import { insertUser } from '../../src/data-access/users.repository';
import { startCardApi, type CardApiHarness } from '../support/card-api';

/** An identity provider's key endpoint the test controls: which keys it publishes, and whether it answers. */
class JwksServer {
  keys: JWK[] = [];
  up = true;
  fetches = 0;
  private readonly server: Server = createServer((_req, res) => {
    this.fetches += 1;
    if (!this.up) {
      res.writeHead(503).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: this.keys }));
  });

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/.well-known/jwks.json`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => {
        resolve();
      });
    });
  }
}

interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
  publicPem: string;
}

async function newSigningKey(kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  return {
    kid,
    privateKey,
    publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' },
    publicPem: await exportSPKI(publicKey),
  };
}

describe('tokens verified against an identity provider’s key set (JWKS)', () => {
  const issuer = 'https://idp.example.test/';
  const audience = 'card-api-jwks-test';
  const jwks = new JwksServer();
  let harness: CardApiHarness;
  let key: SigningKey;
  const subject = 'jwks-user';

  beforeAll(async () => {
    key = await newSigningKey('key-1');
    jwks.keys = [key.publicJwk];
    const jwksUrl = await jwks.start();
    harness = await startCardApi('auth-jwks', {
      JWT_JWKS_URL: jwksUrl,
      JWT_ISSUER: issuer,
      JWT_AUDIENCE: audience,
      JWT_JWKS_COOLDOWN_MS: '0',
      JWT_CLOCK_TOLERANCE_SECONDS: '5',
    });
    await insertUser({ externalId: subject, email: 'jwks@example.test', role: 'user' }, harness.db);
  });

  afterAll(async () => {
    await harness.stop();
    await jwks.stop();
  });

  function claims(overrides: { sub?: string; iss?: string; aud?: string } = {}): SignJWT {
    return new SignJWT({})
      .setSubject(overrides.sub ?? subject)
      .setIssuer(overrides.iss ?? issuer)
      .setAudience(overrides.aud ?? audience)
      .setIssuedAt();
  }

  async function statusWith(token: string): Promise<number> {
    return (await harness.request('/v1/cards', { token })).status;
  }

  it('when a token is signed by a published key, then it is accepted', async () => {
    const token = await claims()
      .setProtectedHeader({ alg: 'RS256', kid: key.kid })
      .setExpirationTime('5m')
      .sign(key.privateKey);
    expect(await statusWith(token)).toBe(200);
  });

  it('when a token is HS256, even with the development secret, then it is refused: the key set is the only authority', async () => {
    const token = await claims()
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(DEVELOPMENT_JWT_SECRET));
    expect(await statusWith(token)).toBe(401);
  });

  it('when a token is HMAC-signed with the public key as the secret (RS/HS confusion), then it is refused', async () => {
    for (const secret of [key.publicPem, JSON.stringify(key.publicJwk)]) {
      const token = await claims()
        .setProtectedHeader({ alg: 'HS256', kid: key.kid })
        .setExpirationTime('5m')
        .sign(new TextEncoder().encode(secret));
      expect(await statusWith(token)).toBe(401);
    }
  });

  it('when a token is unsigned (alg none), then it is refused', async () => {
    const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    const payload = Buffer.from(
      JSON.stringify({ sub: subject, iss: issuer, aud: audience, exp: Math.floor(Date.now() / 1000) + 300 }),
    ).toString('base64url');
    expect(await statusWith(`${header}.${payload}.`)).toBe(401);
  });

  it('when iss or aud is another, then it is refused', async () => {
    for (const overrides of [{ iss: 'https://evil.example.test/' }, { aud: 'another-service' }]) {
      const token = await claims(overrides)
        .setProtectedHeader({ alg: 'RS256', kid: key.kid })
        .setExpirationTime('5m')
        .sign(key.privateKey);
      expect(await statusWith(token)).toBe(401);
    }
  });

  it('when exp or nbf is off by less than the clock tolerance, then it is accepted; by more, refused', async () => {
    const now = Math.floor(Date.now() / 1000);
    const sign = (times: { exp: number; nbf?: number }): Promise<string> => {
      const token = claims().setProtectedHeader({ alg: 'RS256', kid: key.kid }).setExpirationTime(times.exp);
      return (times.nbf === undefined ? token : token.setNotBefore(times.nbf)).sign(key.privateKey);
    };
    expect(await statusWith(await sign({ exp: now - 2 }))).toBe(200);
    expect(await statusWith(await sign({ exp: now - 60 }))).toBe(401);
    expect(await statusWith(await sign({ exp: now + 300, nbf: now + 2 }))).toBe(200);
    expect(await statusWith(await sign({ exp: now + 300, nbf: now + 60 }))).toBe(401);
  });

  it('when a token has no exp, then it is refused', async () => {
    const token = await claims().setProtectedHeader({ alg: 'RS256', kid: key.kid }).sign(key.privateKey);
    expect(await statusWith(token)).toBe(401);
  });

  it('when the provider rotates in a new key, then tokens signed with it are accepted without a restart', async () => {
    const rotated = await newSigningKey('key-2');
    jwks.keys = [key.publicJwk, rotated.publicJwk];
    const token = await claims()
      .setProtectedHeader({ alg: 'RS256', kid: rotated.kid })
      .setExpirationTime('5m')
      .sign(rotated.privateKey);
    expect(await statusWith(token)).toBe(200);
  });

  it('when the key set cannot be fetched for a key it has not cached, then it is 503, not a 401 blaming the client', async () => {
    const unknown = await newSigningKey('key-3');
    jwks.up = false;
    try {
      const token = await claims()
        .setProtectedHeader({ alg: 'RS256', kid: unknown.kid })
        .setExpirationTime('5m')
        .sign(unknown.privateKey);
      const response = await harness.request('/v1/cards', { token });
      expect(response.status).toBe(503);
      expect(ProblemSchema.parse(await response.json()).code).toBe('SERVICE_UNAVAILABLE');
    } finally {
      jwks.up = true;
    }
  });

  it('when a token claims the admin role, then admin routes still refuse a user whose database role is user', async () => {
    const token = await new SignJWT({ role: 'admin', roles: ['admin'], admin: true, scope: 'admin' })
      .setSubject(subject)
      .setIssuer(issuer)
      .setAudience(audience)
      .setProtectedHeader({ alg: 'RS256', kid: key.kid })
      .setExpirationTime('5m')
      .sign(key.privateKey);
    const response = await harness.request('/v1/admin/cards', { token });
    expect(response.status).toBe(403);
  });
});
