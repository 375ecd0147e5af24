import { ErrorCode } from '@cards/contracts';
import type { RequestHandler, Response } from 'express';
import { errors as joseErrors, jwtVerify } from 'jose';

import type { UserRecord } from '../../domain/card';
import { AppError } from '../../domain/errors';

/** Checks a bearer token and returns its subject (the user's external id). */
export type TokenVerifier = (token: string) => Promise<string>;

/** HS256 verification with a pinned algorithm, issuer and audience, and a small clock tolerance. */
export function hs256Verifier(options: { secret: string; issuer: string; audience: string }): TokenVerifier {
  const key = new TextEncoder().encode(options.secret);
  return async (token) => {
    const { payload } = await jwtVerify(token, key, {
      algorithms: ['HS256'],
      issuer: options.issuer,
      audience: options.audience,
      clockTolerance: 5,
      requiredClaims: ['sub', 'exp'],
    });
    if (!payload.sub) {
      throw new joseErrors.JWTClaimValidationFailed('missing sub', payload, 'sub', 'missing');
    }
    return payload.sub;
  };
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
    } catch {
      res.set('WWW-Authenticate', 'Bearer error="invalid_token"');
      throw unauthenticated('The token is invalid or expired.');
    }
    const user = await deps.findUser(subject);
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
