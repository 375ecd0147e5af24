import { createSecretKey } from 'node:crypto';

import { ErrorCode, isStorableText } from '@cards/contracts';
import type { RequestHandler, Response } from 'express';
import {
  createRemoteJWKSet,
  errors as joseErrors,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';

import type { CardApiConfig } from '../../config';

import type { UserRecord } from '../../domain/card';
import { AppError } from '@cards/contracts';

/** Checks a bearer token and returns its subject (the user's external id). */
export type TokenVerifier = (token: string) => Promise<string>;

interface ClaimRules {
  issuer: string;
  audience: string;
  clockToleranceSeconds: number;
  /** The clock tokens are judged by (milliseconds since the epoch); tests move it. */
  now?: (() => number) | undefined;
}

/** A verified token: its subject, and when it expires (ms since the epoch). */
interface VerifiedToken {
  subject: string;
  expiresAtMs: number;
}

/** The subject of a verified token; jose has checked exp and nbf (with the tolerance), iss and aud. */
function verified(payload: JWTPayload): VerifiedToken {
  if (!payload.sub) {
    throw new joseErrors.JWTClaimValidationFailed('missing sub', payload, 'sub', 'missing');
  }
  // exp is a required claim, so jose has refused a token without one.
  return { subject: payload.sub, expiresAtMs: (payload.exp ?? 0) * 1000 };
}

function verifyOptions(rules: ClaimRules, algorithms: readonly string[]) {
  return {
    algorithms: [...algorithms],
    issuer: rules.issuer,
    audience: rules.audience,
    clockTolerance: rules.clockToleranceSeconds,
    requiredClaims: ['sub', 'exp'],
    ...(rules.now && { currentDate: new Date(rules.now()) }),
  };
}

/** How long a verified token is trusted without checking its signature again, at most (its exp comes first). */
const VERIFIED_TOKEN_TTL_MS = 60_000;
/** How many verified tokens are remembered; the least recently used is forgotten first. */
const VERIFIED_TOKENS_MAX = 10_000;

/**
 * Remembers tokens that passed `verify`, so a client's repeated requests skip the signature check: an entry lasts
 * until the token's exp or a minute, whichever is first, so no token is accepted past its exp; a refusal is never
 * remembered. The token string is the key, so a token differing in any byte (its signature too) is checked afresh.
 */
export function rememberVerifiedTokens(
  verify: (token: string) => Promise<VerifiedToken>,
  options: { now?: (() => number) | undefined; maxEntries?: number; ttlMs?: number } = {},
): TokenVerifier {
  const now = options.now ?? Date.now;
  const maxEntries = options.maxEntries ?? VERIFIED_TOKENS_MAX;
  const ttlMs = options.ttlMs ?? VERIFIED_TOKEN_TTL_MS;
  const remembered = new Map<string, { subject: string; untilMs: number }>();
  return async (token) => {
    const hit = remembered.get(token);
    if (hit) {
      remembered.delete(token);
      if (now() < hit.untilMs) {
        // Re-inserted, so the map's insertion order is least recently used first.
        remembered.set(token, hit);
        return hit.subject;
      }
    }
    const { subject, expiresAtMs } = await verify(token);
    if (remembered.size >= maxEntries) {
      const oldest = remembered.keys().next();
      if (!oldest.done) {
        remembered.delete(oldest.value);
      }
    }
    remembered.set(token, { subject, untilMs: Math.min(expiresAtMs, now() + ttlMs) });
    return subject;
  };
}

/**
 * HS256 with a shared secret (development): the algorithm is pinned, so `none` or RS256 tokens never pass. The key
 * is imported once (as a KeyObject): given bytes, jose would import a WebCrypto key on every verification.
 */
export function hs256Verifier(options: ClaimRules & { secret: string }): TokenVerifier {
  const key = createSecretKey(Buffer.from(options.secret, 'utf8'));
  return rememberVerifiedTokens(
    async (token) => verified((await jwtVerify(token, key, verifyOptions(options, ['HS256']))).payload),
    { now: options.now },
  );
}

/**
 * Keys from the identity provider's JWKS (production), fetched and cached by jose: refetched after `cacheMaxAgeMs`,
 * or when a token names an unknown `kid` (at most once per cooldown). Only the configured asymmetric algorithms
 * pass, so a token signed with HMAC using the public key as the secret (RS/HS confusion) is refused.
 */
export function jwksVerifier(
  options: ClaimRules & {
    jwksUrl: string;
    algorithms: readonly string[];
    cacheMaxAgeMs: number;
    cooldownMs: number;
    timeoutMs: number;
  },
): TokenVerifier {
  const remoteKeys = createRemoteJWKSet(new URL(options.jwksUrl), {
    cacheMaxAge: options.cacheMaxAgeMs,
    cooldownDuration: options.cooldownMs,
    timeoutDuration: options.timeoutMs,
  });
  const keyFor: JWTVerifyGetKey = async (header, token) => {
    try {
      return await remoteKeys(header, token);
    } catch (error) {
      // No key for the token's kid/alg is the token's fault; any other failure is the key set's.
      if (
        error instanceof joseErrors.JWKSNoMatchingKey ||
        error instanceof joseErrors.JWKSMultipleMatchingKeys ||
        error instanceof joseErrors.JOSENotSupported
      ) {
        throw error;
      }
      throw new KeySetUnavailable(error);
    }
  };
  return rememberVerifiedTokens(
    async (token) =>
      verified((await jwtVerify(token, keyFor, verifyOptions(options, options.algorithms))).payload),
    { now: options.now },
  );
}

/** The verifier the configuration asks for: the key set when JWT_JWKS_URL is set, the HS256 secret otherwise. */
export function tokenVerifier(
  config: Pick<
    CardApiConfig,
    | 'JWT_SECRET'
    | 'JWT_JWKS_URL'
    | 'JWT_ALGORITHMS'
    | 'JWT_JWKS_CACHE_MAX_AGE_MS'
    | 'JWT_JWKS_COOLDOWN_MS'
    | 'JWT_JWKS_TIMEOUT_MS'
    | 'JWT_ISSUER'
    | 'JWT_AUDIENCE'
    | 'JWT_CLOCK_TOLERANCE_SECONDS'
  >,
): TokenVerifier {
  const rules: ClaimRules = {
    issuer: config.JWT_ISSUER,
    audience: config.JWT_AUDIENCE,
    clockToleranceSeconds: config.JWT_CLOCK_TOLERANCE_SECONDS,
  };
  if (config.JWT_JWKS_URL) {
    return jwksVerifier({
      ...rules,
      jwksUrl: config.JWT_JWKS_URL,
      algorithms: config.JWT_ALGORITHMS,
      cacheMaxAgeMs: config.JWT_JWKS_CACHE_MAX_AGE_MS,
      cooldownMs: config.JWT_JWKS_COOLDOWN_MS,
      timeoutMs: config.JWT_JWKS_TIMEOUT_MS,
    });
  }
  return hs256Verifier({ ...rules, secret: config.JWT_SECRET });
}

/** The identity provider's key set could not be had (down, slow, nonsense): the token was never judged. */
export class KeySetUnavailable extends Error {
  constructor(cause: unknown) {
    super('the token key set is unavailable', { cause });
    this.name = 'KeySetUnavailable';
  }
}

const unauthenticated = (detail: string): AppError =>
  new AppError({
    code: ErrorCode.UNAUTHENTICATED,
    kind: 'unauthenticated',
    message: 'Unauthorized',
    details: { detail },
  });

/** The authenticated user of a request (set by `authenticate`). */
export function currentUser(res: Response): UserRecord {
  const user = res.locals['user'] as UserRecord | undefined;
  if (!user) {
    throw new Error('authenticate middleware did not run');
  }
  return user;
}

/** How many users `rememberUsers` keeps; the least recently used is forgotten first. */
const REMEMBERED_USERS_MAX = 10_000;

/** The default of AUTH_USER_CACHE_TTL_MS. */
export const DEFAULT_USER_CACHE_TTL_MS = 5000;

/**
 * Remembers the users `findUser` found for `ttlMs`, so a client's requests do not each read its user: a change to a
 * user (its role) takes effect within `ttlMs`. An unknown external id is not remembered, so a user just created can
 * call at once. `ttlMs` 0 remembers nothing.
 */
export function rememberUsers(
  findUser: (externalId: string) => Promise<UserRecord | undefined>,
  options: { ttlMs: number; maxEntries?: number; now?: () => number },
): (externalId: string) => Promise<UserRecord | undefined> {
  if (options.ttlMs <= 0) {
    return findUser;
  }
  const now = options.now ?? Date.now;
  const maxEntries = options.maxEntries ?? REMEMBERED_USERS_MAX;
  const remembered = new Map<string, { user: UserRecord; untilMs: number }>();
  return async (externalId) => {
    const hit = remembered.get(externalId);
    if (hit) {
      remembered.delete(externalId);
      if (now() < hit.untilMs) {
        remembered.set(externalId, hit);
        return hit.user;
      }
    }
    const user = await findUser(externalId);
    if (user) {
      if (remembered.size >= maxEntries) {
        const oldest = remembered.keys().next();
        if (!oldest.done) {
          remembered.delete(oldest.value);
        }
      }
      remembered.set(externalId, { user, untilMs: now() + options.ttlMs });
    }
    return user;
  };
}

/**
 * Authenticates a Bearer JWT and loads its user: no or bad token → 401; a valid token whose `sub` is no known
 * user → 403 (users are a prerequisite, DESIGN.md). Roles come from the database, never from a token claim; a
 * user read is remembered for `userCacheTtlMs` (see `rememberUsers`).
 */
export function authenticate(deps: {
  verify: TokenVerifier;
  findUser: (externalId: string) => Promise<UserRecord | undefined>;
  /** AUTH_USER_CACHE_TTL_MS; DEFAULT_USER_CACHE_TTL_MS when not given. */
  userCacheTtlMs?: number;
}): RequestHandler {
  const findUser = rememberUsers(deps.findUser, { ttlMs: deps.userCacheTtlMs ?? DEFAULT_USER_CACHE_TTL_MS });
  return async (req, res, next) => {
    const header = req.get('authorization');
    const match = header ? /^Bearer ([A-Za-z0-9\-_.]+)$/.exec(header) : null;
    if (!match?.[1]) {
      res.set('WWW-Authenticate', 'Bearer');
      throw unauthenticated('A Bearer token is required.');
    }
    let subject: string;
    try {
      subject = await deps.verify(match[1]);
    } catch (error) {
      if (error instanceof KeySetUnavailable) {
        // Not the client's fault: its token may be fine, our copy of the keys is not.
        throw new AppError({
          code: ErrorCode.SERVICE_UNAVAILABLE,
          kind: 'unavailable',
          message: 'Service Unavailable',
          details: { detail: 'The token keys could not be fetched; retry later.' },
          cause: error,
        });
      }
      res.set('WWW-Authenticate', 'Bearer error="invalid_token"');
      throw unauthenticated('The token is invalid or expired.');
    }
    // A subject no user could have (external ids are 1–200 characters of storable text) names no known user; it is
    // not sent to the database, which would refuse a NUL with an error.
    const storable = subject.length <= 200 && isStorableText(subject);
    const user = storable ? await findUser(subject) : undefined;
    if (!user) {
      throw new AppError({
        code: ErrorCode.FORBIDDEN,
        kind: 'forbidden',
        message: 'Forbidden',
        details: { detail: 'The token names no known user.' },
      });
    }
    res.locals['user'] = user;
    next();
  };
}

/** Lets only admins through (role from the database). */
export const requireAdmin: RequestHandler = (_req, res, next) => {
  if (currentUser(res).role !== 'admin') {
    throw new AppError({
      code: ErrorCode.FORBIDDEN,
      kind: 'forbidden',
      message: 'Forbidden',
      details: { detail: 'This operation needs the admin role.' },
    });
  }
  next();
};

/** Refuses a body that is not JSON with 415; a request without a body passes (validation reports it). */
export const requireJsonBody: RequestHandler = (req, _res, next) => {
  const empty = req.get('content-length') === '0' && !req.get('content-type');
  if (!empty && req.is('application/json') === false) {
    throw new AppError({
      code: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
      kind: 'unsupported',
      message: 'Unsupported Media Type',
      details: { detail: 'Send the body as application/json.' },
    });
  }
  next();
};
