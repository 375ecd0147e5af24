// Checks that our dependencies are pinned: every version in the root's and each workspace's package.json
// (dependencies, devDependencies, optionalDependencies) is one exact version, not a range or a tag, and
// package-lock.json exists and fixes every package it installs by an integrity hash. Offline: it reads files only.
// Prints one line per problem, then a one-line summary; exits 1 on any problem, 2 when the check cannot run.
//   node scripts/check-pinned.js [--start <project folder>]
'use strict';
const path = require('node:path');
const fs = require('node:fs');
const { parseArgs } = require('node:util');

const ROOT = path.resolve(__dirname, '..');
const SECTIONS = ['dependencies', 'devDependencies', 'optionalDependencies'];
// peerDependencies are left out on purpose: they state what a package works with, and are ranges by nature.
const EXACT_VERSION = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;

const readJson = (file) => JSON.parse(fs.readFileSync(file, 'utf8'));

/** The workspace folders the root declares; npm's globs beyond a final `/*` are not needed here and are refused. */
function workspaceFolders(start, rootPackage) {
  const patterns = Array.isArray(rootPackage.workspaces)
    ? rootPackage.workspaces
    : (rootPackage.workspaces?.packages ?? []);
  return patterns.flatMap((pattern) => {
    if (!pattern.includes('*')) return [path.join(start, pattern)];
    if (!pattern.endsWith('/*') || pattern.slice(0, -2).includes('*')) {
      throw new Error(`workspace pattern "${pattern}" is not supported; list the folders or use <folder>/*`);
    }
    const parent = path.join(start, pattern.slice(0, -2));
    return fs
      .readdirSync(parent, { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && fs.existsSync(path.join(parent, entry.name, 'package.json')))
      .map((entry) => path.join(parent, entry.name));
  });
}

/** The version part of a spec, or the whole spec; an `npm:name@version` alias is pinned when its version is. */
function versionOf(spec) {
  return spec.startsWith('npm:') ? spec.slice(spec.lastIndexOf('@') + 1) : spec;
}

function main() {
  const { values } = parseArgs({ options: { start: { type: 'string', default: ROOT } } });
  const start = path.resolve(values.start);
  const rootPackage = readJson(path.join(start, 'package.json'));
  const manifests = [start, ...workspaceFolders(start, rootPackage)].map((folder) =>
    path.join(folder, 'package.json'),
  );

  const problems = [];
  let versions = 0;
  for (const file of manifests) {
    const manifest = readJson(file);
    const shown = path.relative(start, file);
    for (const section of SECTIONS) {
      for (const [name, spec] of Object.entries(manifest[section] ?? {})) {
        versions += 1;
        if (!EXACT_VERSION.test(versionOf(spec))) {
          problems.push(`${shown}: ${section} ${name}@${spec} is not an exact version`);
        }
      }
    }
  }

  let locked = 0;
  const lockFile = path.join(start, 'package-lock.json');
  if (!fs.existsSync(lockFile)) {
    problems.push('package-lock.json is missing');
  } else {
    const lock = readJson(lockFile);
    if (lock.lockfileVersion < 2 || typeof lock.packages !== 'object') {
      problems.push(
        `package-lock.json has lockfileVersion ${lock.lockfileVersion}; 2 or later lists every package`,
      );
    }
    for (const [location, entry] of Object.entries(lock.packages ?? {})) {
      // Workspace links point at our own folders, and bundled packages come inside their parent's tarball.
      if (!location.includes('node_modules/') || entry.link || entry.inBundle) continue;
      locked += 1;
      if (!entry.version || !entry.integrity) {
        problems.push(
          `package-lock.json: ${location} has no ${entry.version ? 'integrity hash' : 'version'}`,
        );
      }
    }
  }

  for (const line of problems) process.stdout.write(`${line}\n`);
  const verdict = problems.length === 0 ? 'all pinned' : `${problems.length} failing`;
  process.stdout.write(
    `pinned: ${versions} dependency versions in ${manifests.length} package.json files, ` +
      `${locked} packages in package-lock.json: ${verdict}\n`,
  );
  process.exitCode = problems.length === 0 ? 0 : 1;
}

try {
  main();
} catch (error) {
  process.stderr.write(`check-pinned: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 2;
}
