import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../../..');

/**
 * Runs the project's dependency-cruiser rules over a throw-away tree of probe files (paths as in the repository),
 * and returns the violations as [rule, from]. A probe that breaks a rule must show up here, so a later edit of
 * .dependency-cruiser.cjs cannot quietly loosen it.
 */
async function violationsOf(files: Record<string, string>): Promise<[string, string][]> {
  const tree = mkdtempSync(path.join(tmpdir(), 'rules-probe-'));
  try {
    for (const [file, text] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(tree, file)), { recursive: true });
      writeFileSync(path.join(tree, file), text);
    }
    symlinkSync(path.join(ROOT, 'node_modules'), path.join(tree, 'node_modules'));
    // The workspace packages resolve to the probe tree's own copies, as the repository's tsconfig maps them.
    writeFileSync(
      path.join(tree, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'commonjs',
          moduleResolution: 'node',
          strict: true,
          baseUrl: '.',
          paths: { '@cards/*': ['packages/*/src/index.ts'] },
        },
      }),
    );
    const roots = [...new Set(Object.keys(files).map((file) => file.split('/')[0] ?? file))];
    const { stdout } = await run(
      process.execPath,
      [
        path.join(ROOT, 'node_modules/dependency-cruiser/bin/dependency-cruiser.mjs'),
        '--config',
        path.join(ROOT, '.dependency-cruiser.cjs'),
        '--output-type',
        'json',
        ...roots,
      ],
      { cwd: tree, maxBuffer: 16 * 1024 * 1024 },
    );
    const result = JSON.parse(stdout) as {
      summary: { violations: { rule: { name: string }; from: string }[] };
    };
    return result.summary.violations.map((violation) => [violation.rule.name, violation.from]);
  } finally {
    rmSync(tree, { recursive: true, force: true });
  }
}

const importsKafkajs = "import { Kafka } from 'kafkajs';\nexport const client = Kafka;\n";
const exports = (name: string) => `export const ${name} = 1;\n`;
/** The workspace packages a probe may import, each a one-line stand-in. */
const packages = {
  'packages/contracts/src/index.ts': exports('EventType'),
  'packages/runtime/src/index.ts': exports('createKnex'),
  'packages/messaging/src/index.ts': exports('createKafka'),
};

describe('architecture rules (.dependency-cruiser.cjs)', () => {
  it('when production code outside the Kafka port imports kafkajs, then lint fails; the port itself, tests and test support may', async () => {
    const violations = await violationsOf({
      'services/probe/src/entry-points/kafka/consumer.ts': importsKafkajs,
      'packages/runtime/src/metrics.ts': importsKafkajs,
      'packages/messaging/src/client.ts': importsKafkajs,
      'services/probe/src/entry-points/kafka/consumer.test.ts': importsKafkajs,
      'services/probe/test/integration/consumer.test.ts': importsKafkajs,
      'packages/test-support/src/kafka.ts': importsKafkajs,
    });

    expect(violations.sort()).toEqual([
      ['kafkajs-behind-the-port', 'packages/runtime/src/metrics.ts'],
      ['kafkajs-behind-the-port', 'services/probe/src/entry-points/kafka/consumer.ts'],
    ]);
  }, 60_000);

  it('when a domain file imports anything but the contracts, its own domain files and Node built-ins, then lint fails, in every service', async () => {
    const violations = await violationsOf({
      ...packages,
      'services/one/src/domain/ports.ts': exports('port'),
      'services/one/src/domain/pure.ts':
        "import { randomUUID } from 'node:crypto';\nimport { EventType } from '@cards/contracts';\n" +
        "import { port } from './ports';\nexport const all = [randomUUID, EventType, port];\n",
      'services/one/src/domain/kafka-back-door.ts':
        "import { createKafka } from '@cards/messaging';\nexport const x = createKafka;\n",
      'services/two/src/domain/knex-back-door.ts':
        "import { createKnex } from '@cards/runtime';\nexport const x = createKnex;\n",
      'services/two/src/domain/driver.ts': "import { Client } from 'pg';\nexport const x = Client;\n",
      'services/two/src/data-access/repository.ts': exports('repository'),
      'services/two/src/domain/reaches-out.ts':
        "import { repository } from '../data-access/repository';\nexport const x = repository;\n",
      'services/three/src/entry-points/http/routes.ts': exports('routes'),
      'services/three/src/domain/reaches-up.ts':
        "import { routes } from '../entry-points/http/routes';\nexport const x = routes;\n",
      'services/three/src/domain/reaches-up.test.ts':
        "import { createKnex } from '@cards/runtime';\nexport const x = createKnex;\n",
    });

    expect(violations.filter(([rule]) => rule === 'domain-is-pure').sort()).toEqual([
      ['domain-is-pure', 'services/one/src/domain/kafka-back-door.ts'],
      ['domain-is-pure', 'services/three/src/domain/reaches-up.ts'],
      ['domain-is-pure', 'services/two/src/domain/driver.ts'],
      ['domain-is-pure', 'services/two/src/domain/knex-back-door.ts'],
      ['domain-is-pure', 'services/two/src/domain/reaches-out.ts'],
    ]);
  }, 60_000);

  it('when data-access imports an entry point or a process file, then lint fails; importing the domain is its job', async () => {
    const violations = await violationsOf({
      'services/probe/src/domain/ports.ts': exports('port'),
      'services/probe/src/entry-points/http/routes.ts': exports('routes'),
      'services/probe/src/main-api.ts': exports('start'),
      'services/probe/src/data-access/serves.ts':
        "import { port } from '../domain/ports';\nexport const x = port;\n",
      'services/probe/src/data-access/calls-up.ts':
        "import { routes } from '../entry-points/http/routes';\nexport const x = routes;\n",
      'services/probe/src/data-access/uses-main.ts':
        "import { start } from '../main-api';\nexport const x = start;\n",
    });

    expect(violations.filter(([rule]) => rule === 'data-access-serves-the-domain').sort()).toEqual([
      ['data-access-serves-the-domain', 'services/probe/src/data-access/calls-up.ts'],
      ['data-access-serves-the-domain', 'services/probe/src/data-access/uses-main.ts'],
    ]);
  }, 60_000);

  it('when a process file is imported by another file of src, then lint fails; a test may start it in-process', async () => {
    const violations = await violationsOf({
      'services/probe/src/main-mint-token.ts': exports('mintToken'),
      'services/probe/src/main-ops.ts':
        "import { mintToken } from './main-mint-token';\nexport const x = mintToken;\n",
      'services/probe/test/integration/ops.test.ts':
        "import { x } from '../../src/main-ops';\nexport const y = x;\n",
    });

    expect(violations.sort()).toEqual([['no-process-file-as-library', 'services/probe/src/main-ops.ts']]);
  }, 60_000);

  it('when a service imports another service, or runtime imports messaging, or contracts import anything of ours, then lint fails', async () => {
    const violations = await violationsOf({
      ...packages,
      'services/one/src/domain/shared.ts': exports('shared'),
      'services/two/src/entry-points/borrows.ts':
        "import { shared } from '../../../one/src/domain/shared';\nexport const x = shared;\n",
      'packages/runtime/src/metrics.ts':
        "import { createKafka } from '@cards/messaging';\nexport const x = createKafka;\n",
      'packages/messaging/src/client.ts':
        "import { createKnex } from '@cards/runtime';\nexport const x = createKnex;\n",
      'packages/contracts/src/events.ts':
        "import { createKnex } from '@cards/runtime';\nexport const x = createKnex;\n",
    });

    expect(violations.sort()).toEqual([
      ['contracts-stand-alone', 'packages/contracts/src/events.ts'],
      ['no-service-to-service', 'services/two/src/entry-points/borrows.ts'],
      ['runtime-below-messaging', 'packages/runtime/src/metrics.ts'],
    ]);
  }, 60_000);

  it("when the console's API module does not go through @cards/client, then lint fails; one that does passes", async () => {
    const client = { 'packages/client/src/index.ts': exports('createCardsClient') };
    const withoutClient = await violationsOf({
      ...client,
      'services/card-api/console/src/api.ts': 'export const get = (path: string) => fetch(path);\n',
    });
    const throughClient = await violationsOf({
      ...client,
      'services/card-api/console/src/api.ts':
        "import { createCardsClient } from '@cards/client';\nexport const api = createCardsClient;\n",
    });

    expect(withoutClient).toEqual([
      ['console-calls-through-the-client', 'services/card-api/console/src/api.ts'],
    ]);
    expect(throughClient).toEqual([]);
  }, 60_000);
});
