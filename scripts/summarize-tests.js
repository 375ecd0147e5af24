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
  // A run that failed with no failing test (a coverage floor not met, say) is one failure, not a pass.
  if (result.success === false && result.numFailedTests + result.numRuntimeErrorTestSuites === 0) {
    failed += 1;
    process.stderr.write(`${file}: the run failed although no test did (a coverage floor?)\n`);
  }
}
process.stdout.write(`${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}\n`);
