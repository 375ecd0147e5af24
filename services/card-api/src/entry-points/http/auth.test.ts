import { SignJWT } from 'jose';

import type { UserRecord } from '../../domain/card';
import { hs256Verifier, rememberUsers, rememberVerifiedTokens } from './auth';

const SECRET = 'unit-test-secret-0123456789abcdef0123';
const RULES = { issuer: 'test-issuer', audience: 'card-api', clockToleranceSeconds: 0 };

/** A clock a test moves by hand, in milliseconds. */
function manualClock(startMs: number) {
  let nowMs = startMs;
  return {
    now: () => nowMs,
    advance: (ms: number) => {
      nowMs += ms;
    },
  };
}

async function token(claims: { sub: string; expSeconds: number; iatSeconds: number }): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(claims.sub)
    .setIssuer(RULES.issuer)
    .setAudience(RULES.audience)
    .setIssuedAt(claims.iatSeconds)
    .setExpirationTime(claims.expSeconds)
    .sign(new TextEncoder().encode(SECRET));
}

describe('hs256Verifier', () => {
  it('when a token that was verified (and remembered) has expired, then it is refused', async () => {
    const clock = manualClock(Date.UTC(2026, 0, 1));
    const verify = hs256Verifier({ ...RULES, secret: SECRET, now: clock.now });
    const startSeconds = clock.now() / 1000;
    const shortLived = await token({ sub: 'alice', iatSeconds: startSeconds, expSeconds: startSeconds + 30 });

    await expect(verify(shortLived)).resolves.toBe('alice');
    clock.advance(10_000);
    await expect(verify(shortLived)).resolves.toBe('alice');
    clock.advance(21_000);

    await expect(verify(shortLived)).rejects.toThrow(/exp/);
  });

  it('when a token is signed with another secret, then it is refused, every time', async () => {
    const verify = hs256Verifier({ ...RULES, secret: SECRET });
    const nowSeconds = Math.floor(Date.now() / 1000);
    const forged = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('mallory')
      .setIssuer(RULES.issuer)
      .setAudience(RULES.audience)
      .setExpirationTime(nowSeconds + 60)
      .sign(new TextEncoder().encode('another-secret-0123456789abcdef0123'));

    await expect(verify(forged)).rejects.toThrow();
    await expect(verify(forged)).rejects.toThrow();
  });
});

describe('rememberVerifiedTokens', () => {
  it('when a token is verified again within a minute and before its exp, then its signature is not checked again', async () => {
    const clock = manualClock(1_000_000);
    let checks = 0;
    const verify = rememberVerifiedTokens(
      (value) => {
        checks += 1;
        return Promise.resolve({ subject: `sub-of-${value}`, expiresAtMs: clock.now() + 3_600_000 });
      },
      { now: clock.now },
    );

    await verify('a');
    await verify('a');
    clock.advance(59_000);
    await verify('a');
    expect(checks).toBe(1);
    clock.advance(2000);
    await expect(verify('a')).resolves.toBe('sub-of-a');
    expect(checks).toBe(2);
  });

  it('when a verification fails, then it is not remembered', async () => {
    let checks = 0;
    const verify = rememberVerifiedTokens(() => {
      checks += 1;
      return Promise.reject(new Error('bad signature'));
    });

    await expect(verify('bad')).rejects.toThrow('bad signature');
    await expect(verify('bad')).rejects.toThrow('bad signature');
    expect(checks).toBe(2);
  });

  it('when more tokens are verified than are remembered, then the least recently used is forgotten', async () => {
    const checked: string[] = [];
    const verify = rememberVerifiedTokens(
      (value) => {
        checked.push(value);
        return Promise.resolve({ subject: value, expiresAtMs: Date.now() + 3_600_000 });
      },
      { maxEntries: 2 },
    );

    await verify('a');
    await verify('b');
    await verify('a');
    await verify('c');
    await verify('a');
    await verify('b');

    expect(checked).toEqual(['a', 'b', 'c', 'b']);
  });
});

describe('rememberUsers', () => {
  const alice: UserRecord = {
    id: 'u-1',
    externalId: 'alice',
    email: 'alice@example.test',
    role: 'user',
    createdAt: new Date(0),
  };

  it('when a user is read again within the time to live, then the database is not asked; after it, it is', async () => {
    const clock = manualClock(0);
    let reads = 0;
    const findUser = rememberUsers(
      () => {
        reads += 1;
        return Promise.resolve(alice);
      },
      { ttlMs: 5000, now: clock.now },
    );

    await findUser('alice');
    clock.advance(4999);
    await expect(findUser('alice')).resolves.toBe(alice);
    expect(reads).toBe(1);
    clock.advance(1);
    await findUser('alice');
    expect(reads).toBe(2);
  });

  it('when an external id names no user, then that is not remembered: a user created next is found at once', async () => {
    const users = new Map<string, UserRecord>();
    const findUser = rememberUsers((externalId) => Promise.resolve(users.get(externalId)), { ttlMs: 5000 });

    await expect(findUser('alice')).resolves.toBeUndefined();
    users.set('alice', alice);

    await expect(findUser('alice')).resolves.toBe(alice);
  });

  it('when the time to live is 0, then every read goes to the database', async () => {
    let reads = 0;
    const findUser = rememberUsers(
      () => {
        reads += 1;
        return Promise.resolve(alice);
      },
      { ttlMs: 0 },
    );

    await findUser('alice');
    await findUser('alice');

    expect(reads).toBe(2);
  });
});
