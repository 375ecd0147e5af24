import { runOnce } from '@cards/platform';
import { SignJWT } from 'jose';

import { loadConfig, type CardApiConfig } from './config';

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

if (require.main === module) {
  runOnce('mint-token', async () => {
    const config = loadConfig();
    if (config.NODE_ENV === 'production') {
      throw new Error('refusing to mint a development token with NODE_ENV=production');
    }
    const subject = process.argv[2] ?? config.ADMIN_EXTERNAL_ID;
    process.stdout.write(`${await mintToken(subject, config)}\n`);
  });
}
