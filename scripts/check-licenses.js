// Checks that every production dependency of every workspace carries a license on the allow-list
// (.license-allowlist.json). It reads only what `npm ci` put in node_modules, so it runs offline.
// Prints one line per package that fails, `name@version: license (why)`, then a one-line summary; exits 1 when any
// package fails, 2 when the check itself cannot run.
//   node scripts/check-licenses.js [--start <project folder>] [--allowlist <file>]
'use strict';
const path = require('node:path');
const fs = require('node:fs');
const { createRequire } = require('node:module');
const { parseArgs } = require('node:util');

// The checker's own copies of Arborist and the SPDX packages: nothing to install beyond the checker.
const fromChecker = createRequire(require.resolve('license-checker-rseidelsohn/package.json'));
const Arborist = fromChecker('@npmcli/arborist');
const spdxParse = fromChecker('spdx-expression-parse');
const spdxSatisfies = fromChecker('spdx-satisfies');

const ROOT = path.resolve(__dirname, '..');

/** Reads the allow-list; each entry must be one SPDX license id, not an expression, so a typo cannot widen it. */
function readAllowList(file) {
  const { licenses } = JSON.parse(fs.readFileSync(file, 'utf8'));
  if (!Array.isArray(licenses) || licenses.length === 0) {
    throw new Error(`${file}: "licenses" must be a non-empty array of SPDX license ids`);
  }
  for (const id of licenses) {
    let parsed;
    try {
      parsed = spdxParse(id);
    } catch {
      parsed = undefined;
    }
    if (parsed?.license !== id) throw new Error(`${file}: "${id}" is not a single SPDX license id`);
  }
  return licenses;
}

/**
 * The installed packages a production install keeps, keyed `name@version`, without our own project and workspaces;
 * and the production dependencies declared but not installed. The checker's own `production` option cannot be used:
 * it follows only the root's `dependencies`, and in a workspaces project the root has none, so it would find nothing.
 * Arborist's `dev` flag is npm's own rule for `--omit=dev`, the same set `npm audit --omit=dev` looks at.
 */
async function productionPackages(start) {
  const tree = await new Arborist({ path: start }).loadActual();
  const packages = new Map();
  const notInstalled = [];
  for (const node of tree.inventory.values()) {
    if (node.dev) continue;
    if (!node.isLink && !node.isProjectRoot && !node.isWorkspace) {
      packages.set(`${node.packageName}@${node.version}`, node);
    }
    for (const edge of node.edgesOut.values()) {
      if (edge.missing && !edge.dev && !edge.optional) {
        notInstalled.push(`${node.packageName}: ${edge.name}@${edge.spec} is not installed (run npm ci)`);
      }
    }
  }
  return { packages, notInstalled };
}

/** The license of every installed package, keyed `name@version`, as license-checker-rseidelsohn reports it. */
async function installedLicenses(start) {
  const checker = await import('license-checker-rseidelsohn');
  return new Promise((resolve, reject) => {
    checker.init({ start, direct: Infinity, color: false }, (error, packages) =>
      error ? reject(error) : resolve(packages),
    );
  });
}

/**
 * Why a license is refused, or undefined when the allow-list covers it. spdx-satisfies passes `A OR B` when either is
 * allowed and `A AND B` only when both are. A license the checker guessed from a file (it marks those with `*`) is
 * refused: a person should read that file. An old-style `licenses` array must be allowed entry by entry.
 */
function refusal(licenses, allowed) {
  const list = Array.isArray(licenses) ? licenses : [licenses];
  if (list.length === 0) return 'no license declared';
  for (const license of list) {
    if (typeof license !== 'string') return 'no license declared';
    if (license.endsWith('*')) return 'not declared in package.json, guessed from its files';
    let satisfied;
    try {
      satisfied = spdxSatisfies(license, allowed);
    } catch {
      return 'no SPDX license declared';
    }
    if (!satisfied) return 'not on the allow-list';
  }
  return undefined;
}

async function main() {
  const { values } = parseArgs({
    options: {
      start: { type: 'string', default: ROOT },
      allowlist: { type: 'string', default: path.join(ROOT, '.license-allowlist.json') },
    },
  });
  const start = path.resolve(values.start);
  const allowed = readAllowList(values.allowlist);
  const { packages, notInstalled } = await productionPackages(start);
  const licenses = await installedLicenses(start);

  const problems = [...notInstalled];
  for (const id of [...packages.keys()].sort()) {
    const found = licenses[id]?.licenses;
    const why = found === undefined ? 'not seen by the license checker' : refusal(found, allowed);
    if (why) problems.push(`${id}: ${Array.isArray(found) ? found.join(', ') : String(found)} (${why})`);
  }

  for (const line of problems) process.stdout.write(`${line}\n`);
  const verdict = problems.length === 0 ? 'all allowed' : `${problems.length} failing`;
  process.stdout.write(
    `licenses: ${packages.size} production packages checked against ${path.basename(values.allowlist)} ` +
      `(${allowed.join(', ')}): ${verdict}\n`,
  );
  process.exitCode = problems.length === 0 ? 0 : 1;
}

main().catch((error) => {
  process.stderr.write(`check-licenses: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 2;
});
