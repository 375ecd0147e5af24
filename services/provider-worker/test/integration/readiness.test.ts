import { createKafka, ensureTopics } from '@cards/messaging';
import { createLogger } from '@cards/runtime';
import {
  eventually,
  freeTcpPort,
  startServiceProcess,
  testKafkaBrokers,
  uniqueSuffix,
  type ServiceProcess,
} from '@cards/test-support';

async function readiness(url: string): Promise<{ status: number; checks: unknown }> {
  const response = await fetch(`${url}/readyz`);
  const body = (await response.json()) as { checks?: unknown };
  return { status: response.status, checks: body.checks };
}

/** A worker process of its own on a free port; its provider is never called in these tests. */
async function startWorker(
  name: string,
  env: Record<string, string>,
): Promise<{ url: string; process: ServiceProcess }> {
  const port = await freeTcpPort();
  const url = `http://127.0.0.1:${port}`;
  const process = await startServiceProcess({
    name,
    service: 'provider-worker',
    entry: 'main-worker',
    env: {
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      HTTP_PORT: String(port),
      PROVIDER_URL: 'http://127.0.0.1:1',
      READINESS_TIMEOUT_MS: '1500',
      ...env,
    },
    readyUrl: `${url}/healthz`,
  });
  return { url, process };
}

describe('GET /readyz of provider-worker', () => {
  const suffix = uniqueSuffix();
  const topics = {
    KAFKA_GROUP_ID: `test.worker-readiness.${suffix}`,
    TOPIC_PROVISIONING_COMMANDS: `test.commands.${suffix}`,
    TOPIC_PROVISIONING_RESULTS: `test.results.${suffix}`,
  };

  beforeAll(async () => {
    const kafka = createKafka(
      { clientId: 'test-worker-readiness', brokers: testKafkaBrokers() },
      createLogger({ service: 'test', level: 'silent' }),
    );
    await ensureTopics(kafka, [topics.TOPIC_PROVISIONING_COMMANDS, topics.TOPIC_PROVISIONING_RESULTS], {
      partitions: 1,
    });
  });

  it('when Kafka answers, then it is ready and says so', async () => {
    const worker = await startWorker('worker-readiness-ok', {
      KAFKA_BROKERS: testKafkaBrokers().join(','),
      ...topics,
    });
    try {
      expect(await readiness(worker.url)).toEqual({ status: 200, checks: { kafka: 'up' } });
    } finally {
      await worker.process.stop();
    }
  });

  it('when Kafka cannot be reached, then /readyz answers 503 naming Kafka while /healthz stays 200', async () => {
    // Nothing listens on port 1: a broker that is gone, without stopping the broker other files use. The worker
    // keeps trying to join meanwhile, so it runs as a process of its own that the test then ends.
    const worker = await startWorker('worker-readiness-no-kafka', {
      KAFKA_BROKERS: '127.0.0.1:1',
      ...topics,
    });
    try {
      await eventually(async () => {
        expect(await readiness(worker.url)).toEqual({ status: 503, checks: { kafka: 'down' } });
      });
      expect((await fetch(`${worker.url}/healthz`)).status).toBe(200);
    } finally {
      await worker.process.stop();
    }
  });
});
