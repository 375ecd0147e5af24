/**
 * The dependency checks behind `make licenses` and `make audit` (scripts/check-licenses.js, check-pinned.js,
 * classify-audit.js, audit.sh), run as processes against small fixture projects: all offline.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../../..');
const fixtures: string[] = [];

afterAll(() => {
  for (const folder of fixtures) rmSync(folder, { recursive: true, force: true });
});

type Files = Record<string, object>;

/** A project folder holding the given JSON files; `links` maps a link path to the folder it points at. */
function project(files: Files, links: Record<string, string> = {}): string {
  const folder = mkdtempSync(path.join(os.tmpdir(), 'dependency-check-'));
  fixtures.push(folder);
  for (const [file, json] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(folder, file)), { recursive: true });
    writeFileSync(path.join(folder, file), JSON.stringify(json, null, 2));
  }
  for (const [link, target] of Object.entries(links)) {
    const at = path.join(folder, link);
    mkdirSync(path.dirname(at), { recursive: true });
    symlinkSync(path.relative(path.dirname(at), path.join(folder, target)), at, 'dir');
  }
  return folder;
}

/** An installed package at version 1.0.0; leave `license` out for a package that declares none. */
function installed(name: string, license?: string, dependencies: Record<string, string> = {}): Files {
  return { [`node_modules/${name}/package.json`]: { name, version: '1.0.0', license, dependencies } };
}

async function run(
  command: string,
  args: string[],
  options: { input?: string; env?: Record<string, string> } = {},
): Promise<{ status: number | null; output: string }> {
  const child = spawn(command, args, {
    cwd: ROOT,
    env: {
      ...process.env,
      PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}`,
      ...options.env,
    },
  });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stdin.end(options.input ?? '');
  const [status] = (await once(child, 'close')) as [number | null];
  return { status, output };
}

const script = (name: string, ...args: string[]) =>
  run(process.execPath, [path.join(ROOT, 'scripts', name), ...args]);

describe('check-licenses', () => {
  it('when production dependencies, direct or transitive, in the root or a workspace, carry a refused, AND-ed or no license, then each is named and it exits 1', async () => {
    const folder = project(
      {
        'package.json': { name: 'fixture', version: '1.0.0', license: 'MIT', workspaces: ['packages/app'] },
        'packages/app/package.json': {
          name: '@fixture/app',
          version: '1.0.0',
          dependencies: { copyleft: '1.0.0', 'and-ed': '1.0.0', 'no-license': '1.0.0', permissive: '1.0.0' },
        },
        ...installed('copyleft', 'GPL-3.0-only'),
        ...installed('and-ed', '(MIT AND GPL-3.0-only)'),
        ...installed('no-license'),
        ...installed('permissive', 'MIT', { 'deep-copyleft': '1.0.0' }),
        ...installed('deep-copyleft', 'AGPL-3.0-only'),
      },
      { 'node_modules/@fixture/app': 'packages/app' },
    );

    const { status, output } = await script('check-licenses.js', '--start', folder);

    expect(status).toBe(1);
    expect(output).toContain('copyleft@1.0.0: GPL-3.0-only');
    expect(output).toContain('and-ed@1.0.0: (MIT AND GPL-3.0-only)');
    expect(output).toContain('no-license@1.0.0: UNKNOWN');
    expect(output).toContain('deep-copyleft@1.0.0: AGPL-3.0-only');
    expect(output).not.toContain('permissive@');
    expect(output).toContain('5 production packages checked');
    expect(output).toContain('4 failing');
  });

  it('when every production license is allowed, an OR counting when one alternative is, then it exits 0', async () => {
    const folder = project({
      'package.json': {
        name: 'fixture',
        version: '1.0.0',
        dependencies: { plain: '1.0.0', either: '1.0.0', both: '1.0.0' },
      },
      ...installed('plain', 'ISC'),
      ...installed('either', '(MIT OR GPL-3.0)'),
      ...installed('both', '(Apache-2.0 AND MIT)'),
    });

    const { status, output } = await script('check-licenses.js', '--start', folder);

    expect(output).toContain('3 production packages checked');
    expect(output).toContain('all allowed');
    expect(status).toBe(0);
  });

  it('when only dev dependencies, of the root or a workspace, carry a refused license, then they are ignored', async () => {
    const folder = project(
      {
        'package.json': {
          name: 'fixture',
          version: '1.0.0',
          workspaces: ['packages/app'],
          dependencies: { plain: '1.0.0' },
          devDependencies: { 'root-tool': '1.0.0' },
        },
        'packages/app/package.json': {
          name: '@fixture/app',
          version: '1.0.0',
          devDependencies: { 'app-tool': '1.0.0' },
        },
        ...installed('plain', 'MIT'),
        ...installed('root-tool', 'GPL-3.0-only'),
        ...installed('app-tool', 'GPL-3.0-only'),
      },
      { 'node_modules/@fixture/app': 'packages/app' },
    );

    const { status, output } = await script('check-licenses.js', '--start', folder);

    expect(output).not.toContain('tool@');
    expect(output).toContain('1 production packages checked');
    expect(status).toBe(0);
  });

  it('when a production dependency is not installed, then it says so and exits 1 rather than passing', async () => {
    const folder = project({
      'package.json': { name: 'fixture', version: '1.0.0', dependencies: { absent: '1.0.0' } },
    });

    const { status, output } = await script('check-licenses.js', '--start', folder);

    expect(output).toContain('absent@1.0.0 is not installed');
    expect(status).toBe(1);
  });
});

describe('check-pinned', () => {
  const lockfile = (packages: Record<string, object>) => ({
    'package-lock.json': { lockfileVersion: 3, packages: { '': {}, ...packages } },
  });
  const locked = { version: '1.2.3', integrity: 'sha512-AAAA' };

  it('when a package.json holds a range or a tag, then each is named and it exits 1', async () => {
    const folder = project({
      'package.json': { name: 'fixture', workspaces: ['packages/*'], devDependencies: { tool: 'latest' } },
      'packages/app/package.json': { name: 'app', dependencies: { ranged: '^1.2.3', exact: '1.2.3' } },
      ...lockfile({
        'node_modules/ranged': locked,
        'node_modules/exact': locked,
        'node_modules/tool': locked,
      }),
    });

    const { status, output } = await script('check-pinned.js', '--start', folder);

    expect(output).toContain('packages/app/package.json: dependencies ranged@^1.2.3 is not an exact version');
    expect(output).toContain('package.json: devDependencies tool@latest is not an exact version');
    expect(output).not.toContain('exact@');
    expect(status).toBe(1);
  });

  it('when every version is exact and the lockfile pins each package by integrity, then it exits 0', async () => {
    const folder = project({
      'package.json': { name: 'fixture', workspaces: ['packages/app'], devDependencies: { tool: '1.2.3' } },
      'packages/app/package.json': {
        name: 'app',
        dependencies: { exact: '1.2.3', alias: 'npm:other@1.2.3' },
      },
      ...lockfile({
        'node_modules/exact': locked,
        'node_modules/alias': locked,
        'node_modules/tool': locked,
        'node_modules/app': { resolved: 'packages/app', link: true },
      }),
    });

    const { status, output } = await script('check-pinned.js', '--start', folder);

    expect(output).toContain(
      '3 dependency versions in 2 package.json files, 3 packages in package-lock.json: all pinned',
    );
    expect(status).toBe(0);
  });

  it('when package-lock.json is missing, then it exits 1', async () => {
    const folder = project({ 'package.json': { name: 'fixture', dependencies: { exact: '1.2.3' } } });

    const { status, output } = await script('check-pinned.js', '--start', folder);

    expect(output).toContain('package-lock.json is missing');
    expect(status).toBe(1);
  });

  it('when a locked package has no integrity hash, then it exits 1', async () => {
    const folder = project({
      'package.json': { name: 'fixture', dependencies: { loose: '1.2.3' } },
      ...lockfile({ 'node_modules/loose': { version: '1.2.3' } }),
    });

    const { status, output } = await script('check-pinned.js', '--start', folder);

    expect(output).toContain('node_modules/loose has no integrity hash');
    expect(status).toBe(1);
  });
});

describe('classify-audit', () => {
  const classify = (report: unknown, npmExit = '1') =>
    run(process.execPath, [path.join(ROOT, 'scripts', 'classify-audit.js'), '--npm-exit', npmExit], {
      input: typeof report === 'string' ? report : JSON.stringify(report),
    });
  const counts = (found: Partial<Record<'low' | 'moderate' | 'high' | 'critical', number>>) => {
    const all = { info: 0, low: 0, moderate: 0, high: 0, critical: 0, ...found };
    const total = Object.values(all).reduce((sum, count) => sum + count, 0);
    return { vulnerabilities: { ...all, total }, dependencies: { prod: 140, dev: 678, total: 818 } };
  };
  const advisory = (name: string, severity: string) => ({
    name,
    severity,
    isDirect: true,
    via: [
      {
        source: 1,
        name,
        dependency: name,
        title: `${name} is broken`,
        url: 'https://github.com/advisories/GHSA-xxxx-xxxx-xxxx',
        severity,
        range: '<5.3.1',
      },
    ],
    effects: [],
    range: '<5.3.1',
    nodes: [`node_modules/${name}`],
    fixAvailable: false,
  });

  // What npm 11 prints on this machine, where the registry answers but refuses the advisory request.
  const refused = {
    message: '405 Method Not Allowed - POST https://registry.npmjs.org/-/npm/v1/security/advisories/bulk',
    method: 'POST',
    uri: 'https://registry.npmjs.org/-/npm/v1/security/advisories/bulk',
    headers: { allow: ['GET,HEAD'] },
    statusCode: 405,
    body: '',
    error: { summary: '', detail: '' },
  };
  // What it prints where the name does not resolve.
  const unreachable = {
    message:
      'request to https://registry.npmjs.org/-/npm/v1/security/advisories/bulk failed, reason: getaddrinfo ENOTFOUND registry.npmjs.org',
    error: { summary: '', detail: '' },
  };

  it.each([
    ['refused the request', refused],
    ['could not be reached', unreachable],
  ])('when the advisory service %s, then it says NO audit was performed and exits 0', async (_, report) => {
    const { status, output } = await classify(report);

    expect(output).toMatch(
      /^audit: the npm advisory service did not answer from this machine \(.+\); NO audit was performed\n$/,
    );
    expect(status).toBe(0);
  });

  it.each(['high', 'critical'])(
    'when the report has a %s advisory, then it lists it and exits 1',
    async (severity) => {
      const report = {
        auditReportVersion: 2,
        vulnerabilities: { express: advisory('express', severity) },
        metadata: counts({ [severity]: 1 }),
      };

      const { status, output } = await classify(report);

      expect(output).toContain(
        `express <5.3.1: ${severity} (express is broken https://github.com/advisories/GHSA-`,
      );
      expect(output).toContain('audit: 1 high or critical advisories in the production dependencies');
      expect(status).toBe(1);
    },
  );

  it('when the report is clean or has only lower advisories, then it says so and exits 0', async () => {
    const report = {
      auditReportVersion: 2,
      vulnerabilities: { qs: advisory('qs', 'moderate') },
      metadata: counts({ moderate: 1 }),
    };

    const { status, output } = await classify(report, '0');

    expect(output).toBe('audit: no high or critical advisories in the production dependencies (1 lower)\n');
    expect(status).toBe(0);
  });

  it('when a clean report comes with a failing npm exit status, then it does not pass', async () => {
    const report = { auditReportVersion: 2, vulnerabilities: {}, metadata: counts({}) };

    const { status } = await classify(report, '1');

    expect(status).toBe(2);
  });

  it.each([
    [
      'npm could not run the audit',
      { error: { code: 'ENOLOCK', summary: 'This command requires an existing lockfile.' } },
    ],
    ['npm printed nothing', ''],
    ['npm printed something else', 'npm error something'],
  ])('when %s, then it exits 2 and does not claim the service was asked', async (_, report) => {
    const { status, output } = await classify(report);

    expect(output).toContain('NO audit was performed');
    expect(output).not.toContain('did not answer');
    expect(status).toBe(2);
  });
});

describe('audit.sh', () => {
  /** A stand-in for the npm advisory service on a local port, answering every bulk request with `answer`. */
  async function advisoryService(answer: object) {
    const server = createServer((request, response) => {
      request.resume();
      request.on('end', () => {
        if (request.method === 'POST' && request.url === '/-/npm/v1/security/advisories/bulk') {
          response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
        } else {
          response.writeHead(404).end();
        }
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    return {
      registry: `http://127.0.0.1:${port}/`,
      close: () => new Promise((resolve) => server.close(resolve)),
    };
  }

  const audit = (registry: string, env: Record<string, string> = {}) =>
    run(path.join(ROOT, 'scripts', 'audit.sh'), [], {
      env: { npm_config_registry: registry, npm_config_cache: path.join(project({}), 'npm-cache'), ...env },
    });

  it('when nothing answers at the advisory address, then it says NO audit was performed and exits 0', async () => {
    const service = await advisoryService({});
    const { registry } = service;
    await service.close();

    const { status, output } = await audit(registry);

    expect(output).toContain('did not answer from this machine');
    expect(output).toContain('NO audit was performed');
    expect(status).toBe(0);
  });

  it('when npm is configured offline, then it still asks rather than print an empty report that reads as clean', async () => {
    const service = await advisoryService({});
    const { registry } = service;
    await service.close();

    const { status, output } = await audit(registry, { npm_config_offline: 'true' });

    expect(output).toContain('NO audit was performed');
    expect(output).not.toContain('no high or critical advisories');
    expect(status).toBe(0);
  });

  it('when the advisory service reports a high advisory for a production dependency, then it exits 1', async () => {
    const service = await advisoryService({
      express: [
        {
          id: 1,
          url: 'https://github.com/advisories/GHSA-test-test-test',
          title: 'A test advisory',
          severity: 'high',
          vulnerable_versions: '>=0.0.0',
          cwe: [],
          cvss: { score: 7.5, vectorString: null },
        },
      ],
    });
    try {
      const { status, output } = await audit(service.registry);

      expect(output).toContain(
        'express: high (A test advisory https://github.com/advisories/GHSA-test-test-test)',
      );
      expect(status).toBe(1);
    } finally {
      await service.close();
    }
  });

  it('when the advisory service answers with no advisories, then it says the audit is clean and exits 0', async () => {
    const service = await advisoryService({});
    try {
      const { status, output } = await audit(service.registry);

      expect(output).toContain('audit: no high or critical advisories in the production dependencies');
      expect(status).toBe(0);
    } finally {
      await service.close();
    }
  });
});
