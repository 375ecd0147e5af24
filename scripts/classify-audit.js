// Reads the output of `npm audit --json` on stdin and says which of three things happened, in one summary line:
//   asked and found   high or critical advisories: lists them, exits 1;
//   asked, clean      no high or critical advisory: exits 0;
//   could not ask     the advisory service did not answer (npm prints its HTTP or network error as JSON):
//                     says plainly that NO audit was performed, exits 0;
// and anything else (no lockfile, output it cannot read) exits 2. The JSON decides, not npm's exit status, which is 1
// both for "found" and for "could not ask"; `--npm-exit <status>` only cross-checks a clean report.
//   npm audit --omit=dev --audit-level=high --json | node scripts/classify-audit.js [--npm-exit <status>]
'use strict';
const fs = require('node:fs');
const { parseArgs } = require('node:util');

const BLOCKING = ['high', 'critical'];

/** One line per high or critical advisory: the package, its vulnerable range, and why. */
function describe(vulnerabilities) {
  return Object.values(vulnerabilities ?? {})
    .filter((vulnerability) => BLOCKING.includes(vulnerability.severity))
    .map(({ name, range, severity, via = [] }) => {
      const reasons = via.map((cause) =>
        typeof cause === 'string' ? `via ${cause}` : `${cause.title} ${cause.url ?? ''}`.trim(),
      );
      return `${name}${range ? ` ${range}` : ''}: ${severity}${reasons.length > 0 ? ` (${reasons.join('; ')})` : ''}`;
    });
}

function classify(text, npmExit) {
  let report;
  try {
    report = JSON.parse(text);
  } catch {
    report = undefined;
  }
  if (typeof report !== 'object' || report === null) {
    return { code: 2, lines: ['audit: npm audit printed no JSON report; NO audit was performed'] };
  }

  const counts = report.metadata?.vulnerabilities;
  if (report.auditReportVersion !== undefined && typeof counts === 'object') {
    const blocking = BLOCKING.reduce((sum, severity) => sum + (counts[severity] ?? 0), 0);
    if (blocking > 0) {
      return {
        code: 1,
        lines: [
          ...describe(report.vulnerabilities),
          `audit: ${blocking} high or critical advisories in the production dependencies`,
        ],
      };
    }
    if (npmExit !== undefined && npmExit !== 0) {
      return {
        code: 2,
        lines: [`audit: npm audit exited ${npmExit} but reported no high or critical advisory`],
      };
    }
    const lower = (counts.total ?? 0) - blocking;
    return {
      code: 0,
      lines: [`audit: no high or critical advisories in the production dependencies (${lower} lower)`],
    };
  }

  // npm prints this shape ({ message, method, uri, statusCode, ... }) when the advisory request failed: an HTTP
  // error status, or no answer at all (ENOTFOUND, ECONNREFUSED, a timeout).
  if (typeof report.message === 'string') {
    return {
      code: 0,
      lines: [
        `audit: the npm advisory service did not answer from this machine (${report.message}); ` +
          'NO audit was performed',
      ],
    };
  }

  const error = report.error ?? {};
  const why = [error.code, error.summary].filter(Boolean).join(' ') || 'unrecognised output';
  return { code: 2, lines: [`audit: npm audit could not run (${why}); NO audit was performed`] };
}

const { values } = parseArgs({ options: { 'npm-exit': { type: 'string' } } });
const npmExit = values['npm-exit'] === undefined ? undefined : Number(values['npm-exit']);
const { code, lines } = classify(fs.readFileSync(0, 'utf8'), npmExit);
for (const line of lines) process.stdout.write(`${line}\n`);
process.exitCode = code;
