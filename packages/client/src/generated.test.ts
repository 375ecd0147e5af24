import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../../..');
const CLIENT = path.resolve(__dirname, '..');

describe('the generated client types', () => {
  it('when generated again from the committed OpenAPI document, then they equal the committed ones (run `make client` after `make openapi`)', async () => {
    // Inside the package, so the repository's Prettier settings apply to the fresh copy as to the committed one.
    const folder = mkdtempSync(path.join(CLIENT, '.generated-check-'));
    const fresh = path.join(folder, 'api.ts');
    try {
      await run(process.execPath, [
        path.join(ROOT, 'node_modules/openapi-typescript/bin/cli.js'),
        path.join(ROOT, 'packages/contracts/openapi.json'),
        '--output',
        fresh,
      ]);
      await run(process.execPath, [
        path.join(ROOT, 'node_modules/prettier/bin/prettier.cjs'),
        '--write',
        fresh,
      ]);
      expect(readFileSync(fresh, 'utf8')).toBe(
        readFileSync(path.join(CLIENT, 'src/generated/api.ts'), 'utf8'),
      );
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  }, 60_000);
});
