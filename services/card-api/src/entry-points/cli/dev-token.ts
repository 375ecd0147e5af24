import { SignJWT } from 'jose';

import type { CardApiConfig } from '../../config';

/** Mints a development token (HS256 with JWT_SECRET) whose `sub` is a user's external id. */
export async function mintToken(
  subject: string,
  config: CardApiConfig,
  options: { expiresIn?: string } = {},
): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(subject)
    .setIssuer(config.JWT_ISSUER)
    .setAudience(config.JWT_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? '12h')
    .sign(new TextEncoder().encode(config.JWT_SECRET));
}
