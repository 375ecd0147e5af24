// Prints one line, `N passed, M failed`, from jest's JSON result files in the given folder.
// CI reads that line rather than jest's own summary; a test file that could not even run counts as a failure.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const folder = process.argv[2] ?? '.run/test-results';
let passed = 0;
let failed = 0;
let skipped = 0;
const files = fs.existsSync(folder) ? fs.readdirSync(folder).filter((name) => name.endsWith('.json')) : [];
for (const file of files) {
  const result = JSON.parse(fs.readFileSync(path.join(folder, file), 'utf8'));
  passed += result.numPassedTests;
  failed += result.numFailedTests + result.numRuntimeErrorTestSuites;
  skipped += result.numPendingTests + result.numTodoTests;
}
process.stdout.write(`${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}\n`);
