// Prints line and branch coverage per workspace from jest's json-summary report (.run/coverage by default), and
// the whole. jest itself enforces the floors (coverageThreshold in jest.config.js); this only reports.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const folder = process.argv[2] ?? '.run/coverage';
const summaryFile = path.join(folder, 'coverage-summary.json');
if (!fs.existsSync(summaryFile)) {
  process.stderr.write(`coverage: no ${summaryFile} (run the tests with coverage first)\n`);
  process.exit(1);
}
const summary = JSON.parse(fs.readFileSync(summaryFile, 'utf8'));
const root = path.resolve(__dirname, '..');

/** Covered and total lines and branches, added up per workspace (packages/<name> or services/<name>). */
const byWorkspace = new Map();
for (const [file, figures] of Object.entries(summary)) {
  if (file === 'total') {
    continue;
  }
  const [kind, name] = path.relative(root, file).split(path.sep);
  const workspace = `${kind}/${name}`;
  const sums = byWorkspace.get(workspace) ?? { lines: [0, 0], branches: [0, 0] };
  sums.lines[0] += figures.lines.covered;
  sums.lines[1] += figures.lines.total;
  sums.branches[0] += figures.branches.covered;
  sums.branches[1] += figures.branches.total;
  byWorkspace.set(workspace, sums);
}

const percent = ([covered, total]) =>
  total === 0 ? '   -  ' : `${((100 * covered) / total).toFixed(1).padStart(5)}%`;
const width = Math.max(...[...byWorkspace.keys()].map((name) => name.length), 'total'.length);
const lines = [`coverage (unit + integration)  ${'workspace'.padEnd(width)}  lines   branches`];
for (const [workspace, sums] of [...byWorkspace].sort(([a], [b]) => a.localeCompare(b))) {
  lines.push(
    `coverage (unit + integration)  ${workspace.padEnd(width)}  ${percent(sums.lines)}  ${percent(sums.branches)}`,
  );
}
const total = summary.total;
lines.push(
  `coverage (unit + integration)  ${'total'.padEnd(width)}  ${percent([total.lines.covered, total.lines.total])}  ${percent([total.branches.covered, total.branches.total])}`,
);
lines.push(
  `coverage report: ${path.join(folder, 'lcov-report', 'index.html')}, lcov: ${path.join(folder, 'lcov.info')}`,
);
process.stdout.write(`${lines.join('\n')}\n`);
