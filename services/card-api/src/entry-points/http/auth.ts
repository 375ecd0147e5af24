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
import { AppError } from '../../domain/errors';

/** Checks a bearer token and returns its subject (the user's external id). */
export type TokenVerifier = (token: string) => Promise<string>;

interface ClaimRules {
  issuer: string;
  audience: string;
  clockToleranceSeconds: number;
}

/** The subject of a verified token; jose has checked exp and nbf (with the tolerance), iss and aud. */
function subjectOf(payload: JWTPayload): string {
  if (!payload.sub) {
    throw new joseErrors.JWTClaimValidationFailed('missing sub', payload, 'sub', 'missing');
  }
  return payload.sub;
}

function verifyOptions(rules: ClaimRules, algorithms: readonly string[]) {
  return {
    algorithms: [...algorithms],
    issuer: rules.issuer,
    audience: rules.audience,
    clockTolerance: rules.clockToleranceSeconds,
    requiredClaims: ['sub', 'exp'],
  };
}

/** HS256 with a shared secret (development): the algorithm is pinned, so `none` or RS256 tokens never pass. */
export function hs256Verifier(options: ClaimRules & { secret: string }): TokenVerifier {
  const key = new TextEncoder().encode(options.secret);
  return async (token) => subjectOf((await jwtVerify(token, key, verifyOptions(options, ['HS256']))).payload);
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
  return async (token) =>
    subjectOf((await jwtVerify(token, keyFor, verifyOptions(options, options.algorithms))).payload);
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

/**
 * Authenticates a Bearer JWT and loads its user: no or bad token → 401; a valid token whose `sub` is no known
 * user → 403 (users are a prerequisite, DESIGN.md). Roles come from the database, never from a token claim.
 */
export function authenticate(deps: {
  verify: TokenVerifier;
  findUser: (externalId: string) => Promise<UserRecord | undefined>;
}): RequestHandler {
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
          kind: 'dependency',
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
    const user = storable ? await deps.findUser(subject) : undefined;
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
      kind: 'unsupported-media-type',
      message: 'Unsupported Media Type',
      details: { detail: 'Send the body as application/json.' },
    });
  }
  next();
};
