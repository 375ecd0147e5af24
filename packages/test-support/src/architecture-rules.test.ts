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
    writeFileSync(
      path.join(tree, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { module: 'commonjs', moduleResolution: 'node', strict: true } }),
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

describe('architecture rules (.dependency-cruiser.cjs)', () => {
  it('when production code outside the Kafka port imports kafkajs, then lint fails; the port itself, tests and test support may', async () => {
    const violations = await violationsOf({
      'services/probe/src/entry-points/kafka/consumer.ts': importsKafkajs,
      'packages/platform/src/metrics.ts': importsKafkajs,
      'packages/platform/src/kafka/client.ts': importsKafkajs,
      'services/probe/src/entry-points/kafka/consumer.test.ts': importsKafkajs,
      'services/probe/test/integration/consumer.test.ts': importsKafkajs,
      'packages/test-support/src/kafka.ts': importsKafkajs,
    });

    expect(violations.sort()).toEqual([
      ['kafkajs-behind-the-port', 'packages/platform/src/metrics.ts'],
      ['kafkajs-behind-the-port', 'services/probe/src/entry-points/kafka/consumer.ts'],
    ]);
  }, 60_000);
});
