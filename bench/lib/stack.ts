import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

import { SignJWT } from 'jose';
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';

import { freePort, ROOT, startProcess, type BenchProcess } from './processes.ts';

const run = promisify(execFile);

/** The five processes of DESIGN.md, as the benchmark names them. */
export type ServiceName =
  'card-api' | 'outbox-relay' | 'card-events-consumer' | 'provider-worker' | 'mock-provider';

/** Every service, in an order where each one's dependencies are up before it. */
export const ALL_SERVICES: ServiceName[] = [
  'mock-provider',
  'card-api',
  'card-events-consumer',
  'provider-worker',
  'outbox-relay',
];

const ENTRY: Record<ServiceName, string> = {
  'card-api': 'services/card-api/dist/main-api.js',
  'outbox-relay': 'services/card-api/dist/main-outbox-relay.js',
  'card-events-consumer': 'services/card-api/dist/main-card-events-consumer.js',
  'provider-worker': 'services/provider-worker/dist/main-worker.js',
  'mock-provider': 'services/mock-provider/dist/main-provider.js',
};

/** The setting that tells each service its HTTP port (health, metrics, and card-api's API). */
const HTTP_PORT_VARIABLE: Record<ServiceName, string> = {
  'card-api': 'HTTP_PORT',
  'outbox-relay': 'OUTBOX_RELAY_HTTP_PORT',
  'card-events-consumer': 'CARD_EVENTS_HTTP_PORT',
  'provider-worker': 'HTTP_PORT',
  'mock-provider': 'HTTP_PORT',
};

/** A pre-created user: its id and subject (for the bare baseline, which skips the token) and a token. */
export interface BenchUser {
  id: string;
  sub: string;
  token: string;
}

/** Settings every run shares; see docs/benchmarks.md for why each differs from a default. */
export const STACK_SETTINGS = {
  /** Connections of card-api's pool, and of the bare baseline servers' pools (the same, so the ceiling is fair). */
  poolMax: 10,
  partitions: 6,
  /** Commands the worker has in progress per partition (default 10): 6 × 32 provider calls in flight. */
  workerPartitionConcurrency: 32,
};

/**
 * The environment the benchmark runs our processes with. Abuse limits (per-user card limit, rate limits, long-polls
 * per user) are raised far above the load, because a benchmark that hammers from one address with a few thousand
 * users is what they exist to refuse; their cost (the rate limiter's queries) is still paid on every request.
 */
/** What every process of a run gets: production mode (as measured in production), this run's database and secret. */
export function productionEnv(stack: StackInfo): Record<string, string> {
  return {
    NODE_ENV: 'production',
    LOG_LEVEL: 'info',
    KAFKA_BROKERS: stack.brokers.join(','),
    DATABASE_URL: stack.databaseUrl,
    JWT_SECRET: stack.jwtSecret,
    JWT_ISSUER: 'card-issuing-bench',
    JWT_AUDIENCE: 'card-api',
  };
}

function serviceEnv(
  stack: StackInfo,
  name: ServiceName,
  ports: Record<ServiceName, number>,
): Record<string, string> {
  const common: Record<string, string> = {
    ...productionEnv(stack),
    TOPIC_PROVISIONING_COMMANDS: stack.topics.commands,
    TOPIC_PROVISIONING_RESULTS: stack.topics.results,
    CARD_EVENTS_GROUP_ID: `${stack.prefix}.card-events`,
    KAFKA_TOPIC_PARTITIONS: String(STACK_SETTINGS.partitions),
    KAFKA_TOPIC_REPLICATION_FACTOR: String(stack.replication.factor),
    KAFKA_TOPIC_MIN_INSYNC_REPLICAS: String(stack.replication.minInsync),
    PROVIDER_URL: `http://127.0.0.1:${ports['mock-provider']}`,
  };
  switch (name) {
    case 'card-api':
      return {
        ...common,
        HTTP_PORT: String(ports['card-api']),
        DATABASE_POOL_MAX: String(STACK_SETTINGS.poolMax),
        CARD_LIMIT_PER_USER: '1000',
        RATE_LIMIT_CARD_CREATE_PER_USER: '1000000',
        RATE_LIMIT_CARD_CREATE_PER_IP: '1000000',
        LONG_POLL_MAX_CONCURRENT_PER_USER: '1000',
        // Reconciliation would compare the provider's cards with ours every few minutes: not what is measured.
        RECONCILIATION_INTERVAL_MS: '0',
      };
    case 'outbox-relay':
      return { ...common, OUTBOX_RELAY_HTTP_PORT: String(ports['outbox-relay']) };
    case 'card-events-consumer':
      return { ...common, CARD_EVENTS_HTTP_PORT: String(ports['card-events-consumer']) };
    case 'provider-worker':
      return {
        ...common,
        HTTP_PORT: String(ports['provider-worker']),
        KAFKA_GROUP_ID: `${stack.prefix}.provider-worker`,
        KAFKA_PARTITION_CONCURRENCY: String(STACK_SETTINGS.workerPartitionConcurrency),
      };
    case 'mock-provider':
      return {
        ...common,
        HTTP_PORT: String(ports['mock-provider']),
        DATABASE_POOL_MAX: String(STACK_SETTINGS.poolMax),
        PROVIDER_DB_SCHEMA: 'bench_provider',
      };
  }
}

/** What a run's processes share: its database, topics and secret. */
export interface StackInfo {
  /** Replicas of each topic, and the fewest in sync for an acknowledged write: 1 and 1 on a single broker. */
  replication: { factor: number; minInsync: number };
  /** Unique per run: topics and consumer groups start with it. */
  prefix: string;
  databaseName: string;
  databaseUrl: string;
  brokers: string[];
  jwtSecret: string;
  topics: { commands: string; results: string };
}

/** The running system under test, plus the helpers every scenario needs. */
export class Stack {
  /** The first (often only) process of each service. */
  readonly processes = new Map<ServiceName, BenchProcess>();
  /** Further replicas (the replicated profile), named `<service>-<n>` from 2. */
  readonly replicas = new Map<string, { service: ServiceName; process: BenchProcess; url: string }>();
  readonly pool: pg.Pool;
  private ports: Record<ServiceName, number> | undefined;
  private readonly extraTopics: string[] = [];

  readonly info: StackInfo;

  private constructor(info: StackInfo) {
    this.info = info;
    this.pool = new pg.Pool({ connectionString: info.databaseUrl, max: 4 });
  }

  /**
   * A fresh database (migrated by the project's own set-up) and fresh topics; no process runs yet. On a cluster,
   * `replication` gives the topics' replicas and min.insync.replicas.
   */
  static async create(options: {
    serverUrl: string;
    brokers: string[];
    databaseName?: string;
    replication?: StackInfo['replication'];
  }): Promise<Stack> {
    const prefix = `bench.${Date.now().toString(36)}.${randomBytes(2).toString('hex')}`;
    const databaseName = options.databaseName ?? 'cards_bench';
    const replication = options.replication ?? { factor: 1, minInsync: 1 };
    await withServer(options.serverUrl, async (client) => {
      await client.query(/* sql */ `DROP DATABASE IF EXISTS ${databaseName} WITH (FORCE)`);
      await client.query(/* sql */ `CREATE DATABASE ${databaseName}`);
    });
    const url = new URL(options.serverUrl);
    url.pathname = `/${databaseName}`;
    const info: StackInfo = {
      prefix,
      databaseName,
      databaseUrl: url.toString(),
      brokers: options.brokers,
      replication,
      jwtSecret: `bench-${randomBytes(24).toString('hex')}`,
      topics: { commands: `${prefix}.commands`, results: `${prefix}.results` },
    };
    // The project's one-shot set-up migrates the database (it also ensures the default topics, as `make up` does).
    await run(process.execPath, ['services/card-api/dist/main-setup.js'], {
      cwd: ROOT,
      env: {
        ...process.env,
        DATABASE_URL: info.databaseUrl,
        KAFKA_BROKERS: info.brokers.join(','),
        KAFKA_TOPIC_REPLICATION_FACTOR: String(replication.factor),
        KAFKA_TOPIC_MIN_INSYNC_REPLICAS: String(replication.minInsync),
        LOG_LEVEL: 'warn',
      },
    });
    const stack = new Stack(info);
    try {
      await stack.createTopics([
        info.topics.commands,
        info.topics.results,
        `${info.topics.commands}.dlq`,
        `${info.topics.results}.dlq`,
      ]);
    } catch (error) {
      // Nobody else holds the stack yet to clean it up.
      await stack.destroy(options.serverUrl);
      throw error;
    }
    return stack;
  }

  kafka(clientId: string): Kafka {
    return new Kafka({ clientId, brokers: this.info.brokers, logLevel: logLevel.ERROR });
  }

  /** Creates topics of this run (deleted again by `destroy`). */
  async createTopics(wanted: string[]): Promise<void> {
    // A topic this run already made is not made again (the broker would answer with an error kafkajs logs).
    const topics = wanted.filter((topic) => !this.extraTopics.includes(topic));
    if (topics.length === 0) {
      return;
    }
    const admin = this.kafka(`${this.info.prefix}-admin`).admin();
    // Recorded first, so `destroy` deletes them even when their creation fails halfway.
    this.extraTopics.push(...topics);
    await admin.connect();
    try {
      await admin.createTopics({
        topics: topics.map((topic) => ({
          topic,
          numPartitions: STACK_SETTINGS.partitions,
          replicationFactor: this.info.replication.factor,
          configEntries: [{ name: 'min.insync.replicas', value: String(this.info.replication.minInsync) }],
        })),
        // kafkajs's own wait for leaders gives up after a few quick retries on a busy broker; this one waits longer.
        waitForLeaders: false,
      });
      const deadline = Date.now() + 30_000;
      for (;;) {
        try {
          const { topics: described } = await admin.fetchTopicMetadata({ topics });
          if (described.every((topic) => topic.partitions.every((partition) => partition.leader >= 0))) {
            break;
          }
        } catch (error) {
          if (Date.now() > deadline) {
            throw error;
          }
        }
        await sleep(200);
      }
    } finally {
      await admin.disconnect();
    }
  }

  /** Inserts `count` users in one statement and mints each a token, as the identity provider would. */
  async createUsers(count: number): Promise<BenchUser[]> {
    const result = await this.pool.query<{ id: string; external_id: string }>(
      /* sql */ `INSERT INTO users (external_id, email)
                 SELECT 'bench-user-' || i, 'bench-user-' || i || '@example.test' FROM generate_series(1, $1) AS i
                 RETURNING id, external_id`,
      [count],
    );
    const key = new TextEncoder().encode(this.info.jwtSecret);
    return Promise.all(
      result.rows.map(async (row) => ({
        id: row.id,
        sub: row.external_id,
        token: await new SignJWT({})
          .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
          .setSubject(row.external_id)
          .setIssuer('card-issuing-bench')
          .setAudience('card-api')
          .setIssuedAt()
          .setExpirationTime('12h')
          .sign(key),
      })),
    );
  }

  /** Base URL of a running service's HTTP server. */
  url(name: ServiceName): string {
    if (!this.ports) {
      throw new Error('no process started yet');
    }
    return `http://127.0.0.1:${this.ports[name]}`;
  }

  /**
   * Node options every service is started with: those `make up` (scripts/procs.sh) and the Dockerfile use, plus
   * e.g. --cpu-prof when profiling.
   */
  nodeArgs: string[] = ['--max-semi-space-size=8', '--max-old-space-size=128'];

  /** Starts the named services (in the order given), each ready before the next; those running are kept. */
  async start(names: ServiceName[]): Promise<void> {
    this.ports ??= {
      'card-api': await freePort(),
      'outbox-relay': await freePort(),
      'card-events-consumer': await freePort(),
      'provider-worker': await freePort(),
      'mock-provider': await freePort(),
    };
    for (const name of names) {
      if (this.processes.has(name)) {
        continue;
      }
      this.processes.set(
        name,
        await this.launch(name, name, serviceEnv(this.info, name, this.ports), this.url(name)),
      );
    }
  }

  /**
   * Starts further replicas of running services until each has `counts[service]` processes: each its own HTTP port
   * and Kafka client id (`card-api-2`), the same database, topics and groups, as `make up-cluster` runs them.
   */
  async startReplicas(counts: Partial<Record<ServiceName, number>>): Promise<void> {
    const ports = this.ports;
    if (!ports) {
      throw new Error('start the first replica of each service first');
    }
    for (const [service, count] of Object.entries(counts) as [ServiceName, number][]) {
      for (let n = 2; n <= count; n += 1) {
        const name = `${service}-${n}`;
        if (this.replicas.has(name)) {
          continue;
        }
        const port = await freePort();
        const url = `http://127.0.0.1:${port}`;
        const started = await this.launch(
          name,
          service,
          {
            ...serviceEnv(this.info, service, ports),
            [HTTP_PORT_VARIABLE[service]]: String(port),
            KAFKA_CLIENT_ID: name,
          },
          url,
        );
        this.replicas.set(name, { service, process: started, url });
      }
    }
  }

  /** Starts one process of `service` and waits until it is ready. */
  private async launch(
    name: string,
    service: ServiceName,
    env: Record<string, string>,
    url: string,
  ): Promise<BenchProcess> {
    const started = await startProcess({
      name,
      script: ENTRY[service],
      env,
      readyUrl: `${url}/healthz`,
      nodeArgs: this.nodeArgs,
    });
    if (this.nodeArgs.length > 0) {
      // Profiles are named by pid; this line says whose is whose.
      process.stderr.write(`bench: ${name} runs as pid ${started.pid} with ${this.nodeArgs.join(' ')}\n`);
    }
    return started;
  }

  /** Base URLs of every replica of a service, the first one's first. */
  urls(name: ServiceName): string[] {
    return [
      this.url(name),
      ...[...this.replicas.values()]
        .filter((replica) => replica.service === name)
        .map((replica) => replica.url),
    ];
  }

  /** Every process of the stack by its name (`card-api`, `card-api-2`, …) and pid. */
  pids(): Record<string, number> {
    return Object.fromEntries([
      ...[...this.processes].map(([name, running]): [string, number] => [name, running.pid]),
      ...[...this.replicas].map(([name, replica]): [string, number] => [name, replica.process.pid]),
    ]);
  }

  /** Stops the named services (all, with their replicas, when none are named); fails when one did not exit cleanly. */
  async stop(names?: ServiceName[]): Promise<void> {
    const stopping: [string, BenchProcess | undefined][] = names
      ? names.map((name) => [name, this.processes.get(name)])
      : [
          ...this.processes,
          ...[...this.replicas].map(([name, replica]): [string, BenchProcess] => [name, replica.process]),
        ];
    for (const name of names ?? [...this.processes.keys()]) {
      this.processes.delete(name);
    }
    if (!names) {
      this.replicas.clear();
    }
    const codes = await Promise.all(
      stopping.map(async ([name, running]) => ({ name, code: running ? await running.stop() : 0 })),
    );
    const unclean = codes.filter(({ code }) => code !== 0);
    if (unclean.length > 0) {
      throw new Error(
        `not stopped cleanly: ${unclean.map(({ name, code }) => `${name} (${code})`).join(', ')}`,
      );
    }
  }

  /** Empties what scenarios write, so each starts from the same table sizes. */
  async truncate(): Promise<void> {
    await this.pool.query(/* sql */ 'TRUNCATE cards, outbox, inbox, rate_limits, idempotency_keys');
  }

  /** Sets the mock provider's latency live. */
  async setProviderLatency(latencyMs: number): Promise<void> {
    await this.setProviderFaults({ latencyMs });
  }

  /** Sets the mock provider's faults live (PUT /control/faults: latencyMs, outage, the rates). */
  async setProviderFaults(
    faults: { latencyMs?: number; outage?: boolean } & Partial<
      Record<'errorRate' | 'hangRate' | 'malformedRate', number>
    >,
  ): Promise<void> {
    const response = await fetch(`${this.url('mock-provider')}/control/faults`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(faults),
    });
    if (!response.ok) {
      throw new Error(`setting the provider's faults answered ${response.status}: ${await response.text()}`);
    }
  }

  /** Stops every process, deletes this run's topics and its database. */
  async destroy(serverUrl: string): Promise<void> {
    await this.stop().catch(() => undefined);
    await this.pool.end();
    const admin = this.kafka(`${this.info.prefix}-admin`).admin();
    try {
      await admin.connect();
      await admin.deleteTopics({ topics: this.extraTopics });
    } catch {
      // Topics of a run are uniquely named: one left behind harms nothing.
    } finally {
      await admin.disconnect();
    }
    await withServer(serverUrl, (client) =>
      client.query(/* sql */ `DROP DATABASE IF EXISTS ${this.info.databaseName} WITH (FORCE)`),
    );
  }
}

async function withServer<T>(serverUrl: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}
