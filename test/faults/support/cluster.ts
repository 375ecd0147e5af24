import { execFile } from 'node:child_process';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

import { allTopics } from '@cards/contracts';
import { createKafka, ensureTopics } from '@cards/messaging';
import { createLogger } from '@cards/runtime';
import {
  createTestDatabase,
  freeTcpPort,
  startServiceProcess,
  TcpProxy,
  type ServiceProcess,
  type TestDatabase,
} from '@cards/test-support';
import type { Kafka } from 'kafkajs';

import { createDatabase, migrateToLatest } from '../../../services/card-api/src/data-access/database';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../../..');

/** The processes the suite kills and restarts. */
export const RESTARTABLE = ['card-api', 'outbox-relay', 'card-events-consumer', 'provider-worker'] as const;
export type Restartable = (typeof RESTARTABLE)[number];

interface ProcessSpec {
  service: string;
  entry: string;
  env: Record<string, string>;
  readyUrl?: string;
}

/**
 * The processes' settings of both fault runs (this one and the cluster's, test/cluster/): a fast reaper, outbox poll
 * and reconciliation, short provider timeouts and retries, so that faults and their repair fit in minutes. Each run
 * adds its saga deadline.
 */
export const FAULT_RUN_SETTINGS = {
  SAGA_REAPER_INTERVAL_MS: '1000',
  CARD_LIMIT_PER_USER: '1000',
  OUTBOX_POLL_INTERVAL_MS: '500',
  PROVIDER_TIMEOUT_MS: '1500',
  PROVIDER_HANG_MS: '2500',
  PROVIDER_MAX_ATTEMPTS: '5',
  PROVIDER_RETRY_BASE_MS: '100',
  RECONCILIATION_INTERVAL_MS: '10000',
  RECONCILIATION_WINDOW_HOURS: '2',
  OUTBOX_RETENTION_HOURS: '1',
  // A provider card still ACTIVE a minute after its cancel was asked for is asked again within the run.
  RECONCILIATION_RECANCEL_AFTER_MINUTES: '1',
} as const;

/**
 * Everything of DESIGN.md as separate OS processes, on a Kafka broker of the suite's own (so stopping it harms no
 * other test) and with TCP proxies the suite controls between the services and Kafka and PostgreSQL.
 */
export class FaultCluster {
  readonly processes = new Map<string, ServiceProcess>();
  private readonly specs = new Map<string, ProcessSpec>();
  kafka!: Kafka;
  kafkaProxy!: TcpProxy;
  databaseProxy!: TcpProxy;
  cardDatabase!: TestDatabase;
  providerDatabase!: TestDatabase;
  apiUrl = '';
  providerUrl = '';
  private kafkaEnv: Record<string, string> = {};
  private stopping = false;

  /** Read through a method: stop() flips it while a restart awaits, which narrowing cannot see. */
  private isStopping(): boolean {
    return this.stopping;
  }
  /** Restarts the supervisor made after a process exited on its own. */
  restarts = 0;

  constructor(private readonly options: { label: string; settings: Record<string, string> }) {}

  /** Starts the broker, the proxies, the databases and every process. */
  async start(): Promise<void> {
    const ports: number[] = [];
    while (ports.length < 10) {
      const port = await freeTcpPort();
      if (!ports.includes(port)) {
        ports.push(port);
      }
    }
    const [
      brokerPort,
      controllerPort,
      kafkaProxyPort,
      databaseProxyPort,
      apiPort,
      providerPort,
      workerPort,
      relayPort,
      standbyRelayPort,
      consumerPort,
    ] = ports as [number, number, number, number, number, number, number, number, number, number];
    const runDir = path.join(ROOT, '.run', 'faults', this.options.label);
    this.kafkaEnv = {
      KAFKA_PORT: String(brokerPort),
      KAFKA_CONTROLLER_PORT: String(controllerPort),
      KAFKA_ADVERTISED_PORT: String(kafkaProxyPort),
      KAFKA_RUN_DIR: path.join(runDir, 'kafka'),
      RUN_LOG_DIR: path.join(runDir, 'logs'),
      KAFKA_HEAP_OPTS: '-Xms192m -Xmx512m',
    };
    // Clients learn the advertised address (the proxy) from metadata, so all their traffic crosses the proxy.
    this.kafkaProxy = new TcpProxy(kafkaProxyPort, { host: '127.0.0.1', port: brokerPort });
    await this.kafkaProxy.start();
    await this.startBroker();

    const server = new URL(process.env['TEST_DATABASE_URL'] ?? '');
    this.databaseProxy = new TcpProxy(databaseProxyPort, {
      host: server.hostname,
      port: Number(server.port || 5432),
    });
    await this.databaseProxy.start();

    this.cardDatabase = await createTestDatabase(`${this.options.label}-cards`);
    this.providerDatabase = await createTestDatabase(`${this.options.label}-provider`);
    const db = createDatabase({ url: this.cardDatabase.url, poolMax: 1 });
    await migrateToLatest(db);
    await db.destroy();

    const brokers = `127.0.0.1:${kafkaProxyPort}`;
    this.kafka = createKafka(
      { clientId: 'fault-suite', brokers: [brokers] },
      createLogger({ service: 'suite', level: 'silent' }),
    );
    await ensureTopics(this.kafka, allTopics, { partitions: 3 });

    const viaProxy = new URL(this.cardDatabase.url);
    viaProxy.port = String(databaseProxyPort);
    viaProxy.hostname = '127.0.0.1';
    this.apiUrl = `http://127.0.0.1:${apiPort}`;
    this.providerUrl = `http://127.0.0.1:${providerPort}`;
    const common = {
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      KAFKA_BROKERS: brokers,
      DATABASE_URL: viaProxy.toString(),
      PROVIDER_URL: this.providerUrl,
      SHUTDOWN_TIMEOUT_MS: '5000',
      ...this.options.settings,
    };
    // The provider is "external": it talks to its own database directly, not through the suite's proxies.
    this.specs.set('mock-provider', {
      service: 'mock-provider',
      entry: 'main-provider',
      env: { ...common, HTTP_PORT: String(providerPort), DATABASE_URL: this.providerDatabase.url },
      readyUrl: `${this.providerUrl}/healthz`,
    });
    this.specs.set('card-api', {
      service: 'card-api',
      entry: 'main-api',
      // The load comes from one address at a pace no real user keeps; abuse limits are not under test here.
      env: {
        ...common,
        HTTP_PORT: String(apiPort),
        RATE_LIMIT_CARD_CREATE_PER_USER: '100000',
        RATE_LIMIT_CARD_CREATE_PER_IP: '100000',
      },
      readyUrl: `${this.apiUrl}/healthz`,
    });
    // The relays and the consumer serve /healthz, /readyz and /metrics on ports of their own.
    this.specs.set('outbox-relay', {
      service: 'card-api',
      entry: 'main-outbox-relay',
      env: { ...common, OUTBOX_RELAY_HTTP_PORT: String(relayPort) },
    });
    this.specs.set('outbox-relay-standby', {
      service: 'card-api',
      entry: 'main-outbox-relay',
      env: { ...common, OUTBOX_RELAY_HTTP_PORT: String(standbyRelayPort) },
    });
    this.specs.set('card-events-consumer', {
      service: 'card-api',
      entry: 'main-card-events-consumer',
      env: { ...common, CARD_EVENTS_HTTP_PORT: String(consumerPort) },
    });
    this.specs.set('provider-worker', {
      service: 'provider-worker',
      entry: 'main-worker',
      env: { ...common, HTTP_PORT: String(workerPort) },
      readyUrl: `http://127.0.0.1:${workerPort}/healthz`,
    });
    for (const name of this.specs.keys()) {
      await this.startProcess(name);
    }
  }

  /**
   * Starts a process and supervises it as systemd or Kubernetes would: a process that exits on its own (a crash,
   * a failed start while the database is cut off) is started again after a short pause.
   */
  async startProcess(name: string): Promise<void> {
    const spec = this.specs.get(name);
    if (!spec) {
      throw new Error(`unknown process ${name}`);
    }
    for (let attempt = 1; ; attempt++) {
      try {
        const started = await startServiceProcess({
          name: `${this.options.label}-${name}`,
          service: spec.service,
          entry: spec.entry,
          env: spec.env,
          ...(spec.readyUrl && { readyUrl: spec.readyUrl, readyTimeoutMs: 60_000 }),
        });
        this.processes.set(name, started);
        void started.exited.then(async () => {
          if (!this.stopping && this.processes.get(name) === started) {
            this.processes.delete(name);
            this.restarts++;
            await sleep(500);
            if (!this.isStopping() && !this.processes.has(name)) {
              await this.startProcess(name).catch(() => undefined);
            }
          }
        });
        return;
      } catch (error) {
        if (attempt >= 20 || this.isStopping()) {
          throw error;
        }
        await sleep(Math.min(5000, 250 * attempt));
      }
    }
  }

  /** SIGKILL: no draining, no commit; what was in flight must be redone by someone. */
  async kill(name: string): Promise<void> {
    const running = this.processes.get(name);
    this.processes.delete(name);
    await running?.kill();
  }

  async ensureAllRunning(): Promise<void> {
    for (const name of this.specs.keys()) {
      if (!this.processes.has(name)) {
        await this.startProcess(name);
      }
    }
  }

  async stopBroker(): Promise<void> {
    await run(path.join(ROOT, 'scripts/kafka.sh'), ['stop'], { env: { ...process.env, ...this.kafkaEnv } });
  }

  async startBroker(): Promise<void> {
    await run(path.join(ROOT, 'scripts/kafka.sh'), ['start'], {
      env: { ...process.env, ...this.kafkaEnv },
      timeout: 180_000,
    });
  }

  /** Stops everything, broker included, and drops the databases. */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all([...this.processes.values()].map((process) => process.stop()));
    this.processes.clear();
    await this.stopBroker().catch(() => undefined);
    await this.kafkaProxy.stop();
    await this.databaseProxy.stop();
    await this.cardDatabase.drop();
    await this.providerDatabase.drop();
  }
}
