import { readFileSync } from 'node:fs';
import path from 'node:path';

describe('runtime', () => {
  it('when tests run, then they run on the Node.js major that .nvmrc names', () => {
    const wanted = readFileSync(path.resolve(__dirname, '../../../.nvmrc'), 'utf8').trim();
    expect(process.versions.node.split('.')[0]).toBe(wanted);
  });
});
