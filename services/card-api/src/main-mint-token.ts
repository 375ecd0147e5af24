import { runOnce } from '@cards/runtime';

import { loadConfig } from './config';
import { mintToken } from './entry-points/cli/dev-token';

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
