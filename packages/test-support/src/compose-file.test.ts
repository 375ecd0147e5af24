import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import { parse } from 'yaml';

import { KAFKA_IMAGE } from './infrastructure';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../../..');
const COMPOSE_FILE = path.join(ROOT, 'docker-compose.yml');
const composeText = readFileSync(COMPOSE_FILE, 'utf8');

interface ComposeService {
  image?: string;
  ports?: string[];
  volumes?: string[];
  environment?: Record<string, string | number>;
}
const compose = parse(composeText, { merge: true }) as { services: Record<string, ComposeService> };

/** Runs the project's compose check (`npm run lint:compose`: dclint with .dclintrc) on `text`; exit code and output. */
async function composeCheck(text: string): Promise<{ code: number; output: string }> {
  const folder = mkdtempSync(path.join(tmpdir(), 'compose-check-'));
  const file = path.join(folder, 'docker-compose.yml');
  writeFileSync(file, text);
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      [path.join(ROOT, 'node_modules/dclint/bin/dclint.cjs'), file],
      { cwd: ROOT },
    );
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? 1, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}` };
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

describe('docker-compose.yml', () => {
  it('when checked against the Compose specification, then it passes; a key the specification does not know fails', async () => {
    expect(await composeCheck(composeText)).toMatchObject({ code: 0 });

    const broken = await composeCheck(
      composeText.replace('    restart: unless-stopped', '    restarts: unless-stopped'),
    );
    expect(broken.code).not.toBe(0);
    expect(broken.output).toContain('invalid-schema');
  }, 60_000);

  it('when a port is published on every interface, then the check fails', async () => {
    const open = await composeCheck(composeText.replace("'127.0.0.1:13000:3000'", "'13000:3000'"));

    expect(open.code).not.toBe(0);
    expect(open.output).toContain('no-unbound-port-interfaces');
  }, 60_000);

  it('when its ports are read, then each is bound to 127.0.0.1 and none clashes with the local path', () => {
    const localPathPorts = new Set([5432, 9092, 3000, 3001, 3002, 3101, 3200]);
    const published = Object.values(compose.services).flatMap((service) => service.ports ?? []);

    expect(published.length).toBeGreaterThan(0);
    for (const port of published) {
      const [host, hostPort] = port.split(':');
      expect({ port, host }).toEqual({ port, host: '127.0.0.1' });
      expect(localPathPorts.has(Number(hostPort))).toBe(false);
    }
  });

  it('when Kafka runs in compose, then its log is on the volume and its version is the one used everywhere', () => {
    const kafka = compose.services['kafka'];
    const volumePath = kafka?.volumes?.[0]?.split(':')[1];
    const pomVersion = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(
      readFileSync(path.join(ROOT, 'infra/kafka/pom.xml'), 'utf8'),
    )?.[1];

    expect(volumePath).toBeDefined();
    expect(kafka?.environment?.['KAFKA_LOG_DIRS']).toBe(volumePath);
    expect(kafka?.image).toBe(`apache/kafka:${pomVersion}`);
    expect(KAFKA_IMAGE).toBe(`apache/kafka:${pomVersion}`);
  });

  it('when the processes run in compose, then they send their traces to the Jaeger service over OTLP', () => {
    const api = compose.services['card-api'];

    expect(api?.environment).toMatchObject({
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://jaeger:4318',
    });
    expect(compose.services['jaeger']?.image).toMatch(/^jaegertracing\/jaeger:2\./);
  });

  it("when the tests run inside the stack, then the test service runs the integration suite against compose's own PostgreSQL and Kafka", () => {
    const test = compose.services['test'] as ComposeService & {
      profiles?: string[];
      command?: string[];
      build?: { target?: string };
      depends_on?: Record<string, unknown>;
    };

    expect(test.profiles).toEqual(['test']);
    expect(test.build?.target).toBe('build');
    expect(test.command).toEqual(['npx', 'jest', '--selectProjects', 'integration']);
    expect(test.environment).toMatchObject({
      TEST_DATABASE_URL: expect.stringMatching(/^postgres:\/\/postgres:postgres@postgres:5432\//) as unknown,
      TEST_KAFKA_BROKERS: 'kafka:9092',
    });
    expect(Object.keys(test.depends_on ?? {}).sort()).toEqual(['kafka', 'postgres']);
    expect(readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8')).toMatch(
      /COPY jest\.config\.js tsconfig\.json/,
    );
  });
});
