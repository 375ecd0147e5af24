// Bundles the operator console (services/card-api/console) with @cards/client into one ES module, which card-api
// serves at /admin/js/main.js: one same-origin script, so the strict CSP needs no inline code or import map.
// Run by `npm run build` and by the test projects' global set-up.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

await build({
  entryPoints: [path.join(root, 'services/card-api/console/src/main.ts')],
  outfile: path.join(root, 'services/card-api/dist/console/main.js'),
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  logLevel: 'warning',
});
