import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Socket } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';

import { Client } from 'pg';

const run = promisify(execFile);

/** Where the integration tests' PostgreSQL server and Kafka broker came from, and how to let go of them. */
export interface Infrastructure {
  /** A URL of the PostgreSQL server (any database on it); tests create their own databases there. */
  databaseUrl: string;
  kafkaBrokers: string[];
  source: { database: string; kafka: string };
  release(): Promise<void>;
}

const LOCAL_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
const LOCAL_KAFKA = { host: '127.0.0.1', port: 9092 };
/** The broker image testcontainers runs; the same Kafka version as docker-compose.yml and infra/kafka/pom.xml. */
export const KAFKA_IMAGE = 'apache/kafka:4.1.2';
const POSTGRES_IMAGE = 'postgres:17-alpine';

/**
 * Finds a real PostgreSQL and a real Kafka for the integration tests, in this order:
 * explicit TEST_DATABASE_URL / TEST_KAFKA_BROKERS; containers where a Docker engine answers; else the local
 * PostgreSQL and the project's own Kafka script (started here if nothing listens, and stopped again on release).
 */
export async function provisionInfrastructure(
  env: Record<string, string | undefined> = process.env,
): Promise<Infrastructure> {
  const releases: (() => Promise<void>)[] = [];
  const explicitDatabase = env['TEST_DATABASE_URL'];
  const explicitKafka = env['TEST_KAFKA_BROKERS'];
  const docker = explicitDatabase && explicitKafka ? false : await dockerAnswers();

  let databaseUrl: string;
  let databaseSource: string;
  if (explicitDatabase) {
    databaseUrl = explicitDatabase;
    databaseSource = 'TEST_DATABASE_URL';
  } else if (docker) {
    const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
    const container = await new PostgreSqlContainer(POSTGRES_IMAGE).start();
    releases.push(async () => {
      await container.stop();
    });
    databaseUrl = container.getConnectionUri();
    databaseSource = `testcontainers (${POSTGRES_IMAGE})`;
  } else {
    databaseUrl = LOCAL_DATABASE_URL;
    databaseSource = 'local PostgreSQL on 127.0.0.1:5432';
  }
  await assertDatabaseAnswers(databaseUrl, databaseSource);

  let kafkaBrokers: string[];
  let kafkaSource: string;
  if (explicitKafka) {
    kafkaBrokers = explicitKafka.split(',').map((broker) => broker.trim());
    kafkaSource = 'TEST_KAFKA_BROKERS';
  } else if (docker) {
    const started = await startKafkaContainer();
    releases.push(started.stop);
    kafkaBrokers = [started.broker];
    kafkaSource = `testcontainers (${KAFKA_IMAGE})`;
  } else {
    kafkaBrokers = [`${LOCAL_KAFKA.host}:${LOCAL_KAFKA.port}`];
    if (await portOpen(LOCAL_KAFKA.host, LOCAL_KAFKA.port)) {
      kafkaSource = 'local broker already running on 127.0.0.1:9092';
    } else {
      await run(kafkaScript(), ['start'], { timeout: 180_000 });
      const startedPid = readKafkaPid();
      releases.push(async () => {
        // Stop only the broker this run started: someone may have replaced it since (make up, another run).
        if (startedPid !== undefined && readKafkaPid() === startedPid) {
          await run(kafkaScript(), ['stop'], { timeout: 60_000 });
        }
      });
      kafkaSource = 'local broker started by scripts/kafka.sh';
    }
  }

  return {
    databaseUrl,
    kafkaBrokers,
    source: { database: databaseSource, kafka: kafkaSource },
    async release() {
      for (const release of releases.reverse()) {
        await release();
      }
    },
  };
}

function kafkaScript(): string {
  return path.resolve(__dirname, '../../../scripts/kafka.sh');
}

function readKafkaPid(): string | undefined {
  try {
    return readFileSync(path.resolve(__dirname, '../../../.run/kafka/kafka.pid'), 'utf8').trim();
  } catch {
    return undefined;
  }
}

async function dockerAnswers(): Promise<boolean> {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
    return true;
  } catch {
    return false;
  }
}

async function assertDatabaseAnswers(url: string, source: string): Promise<void> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    await client.query(/* sql */ 'SELECT 1');
  } catch (error) {
    throw new Error(`PostgreSQL from ${source} does not answer: ${String(error)}`, { cause: error });
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** What the container's command prints while it waits for the address to advertise. */
const AWAITING_ADDRESS = 'waiting for the advertised address';

/**
 * A single KRaft broker in a container. GenericContainer rather than @testcontainers/kafka: that module runs
 * Confluent's images only, and this project runs Apache's (`apache/kafka`, as docker-compose.yml does).
 *
 * The broker must advertise the address clients dial: the Docker host as testcontainers sees it (`getHost()`, not
 * 127.0.0.1, which breaks with a remote DOCKER_HOST or Docker-in-Docker CI) and the host port Docker mapped. Docker
 * picks and binds that port itself (no free port chosen beforehand, so no race), which is only known once the
 * container runs: its command waits for a file with the address, written after start, then starts Kafka. Brokers
 * talk to each other on a listener of their own, advertised as localhost inside the container.
 */
async function startKafkaContainer(): Promise<{ broker: string; stop: () => Promise<void> }> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const container = await new GenericContainer(KAFKA_IMAGE)
    .withExposedPorts(9092)
    .withEnvironment({
      KAFKA_NODE_ID: '1',
      KAFKA_PROCESS_ROLES: 'broker,controller',
      KAFKA_LISTENERS: 'PLAINTEXT://:9092,BROKER://:9094,CONTROLLER://:9093',
      KAFKA_INTER_BROKER_LISTENER_NAME: 'BROKER',
      KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
      KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,BROKER:PLAINTEXT',
      KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
      KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
      KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR: '1',
      KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR: '1',
      KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
      KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
    })
    // The image's own start script (/etc/kafka/docker/run) runs once the advertised address is there.
    .withEntrypoint(['sh', '-c'])
    .withCommand([
      `echo '${AWAITING_ADDRESS}'; while [ ! -f /tmp/advertised ]; do sleep 0.1; done; ` +
        'export KAFKA_ADVERTISED_LISTENERS="$(cat /tmp/advertised)"; exec /etc/kafka/docker/run',
    ])
    .withWaitStrategy(Wait.forLogMessage(AWAITING_ADDRESS))
    .start();
  const broker = `${container.getHost()}:${container.getMappedPort(9092)}`;
  const logs = await container.logs();
  const started = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`the Kafka container did not start within 120 s (${KAFKA_IMAGE})`));
    }, 120_000);
    logs.on('data', (line: Buffer | string) => {
      if (String(line).includes('Kafka Server started')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  await container.copyContentToContainer([
    { content: `PLAINTEXT://${broker},BROKER://localhost:9094`, target: '/tmp/advertised' },
  ]);
  try {
    await started;
  } finally {
    logs.destroy();
  }
  return {
    broker,
    stop: async () => {
      await container.stop();
    },
  };
}

/** Resolves true when something accepts TCP connections on host:port. */
export function portOpen(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => {
      done(false);
    });
    socket.once('error', () => {
      done(false);
    });
    socket.connect(port, host, () => {
      done(true);
    });
  });
}
