import { allTopics } from '@cards/contracts';
import { createKafka, ensureTopics, withKafkaAdmin } from '@cards/messaging';
import { createLogger } from '@cards/runtime';
import {
  createTestDatabase,
  freeTcpPort,
  startServiceProcess,
  type ServiceProcess,
  type TestDatabase,
} from '@cards/test-support';
import type { Kafka } from 'kafkajs';

import { createDatabase, migrateToLatest } from '../../../services/card-api/src/data-access/database';
import { findAdvisoryLockHolder } from '../../../services/card-api/src/data-access/outbox.repository';
import { RELAY_LOCK_KEY } from '../../../services/card-api/src/data-access/relay-lease';
import { TestKafkaCluster } from './kafka-cluster';
import type { TestNetwork } from './test-hosts';
import { TestPostgres } from './test-postgres';

interface ProcessSpec {
  service: string;
  entry: string;
  env: Record<string, string>;
  readyUrl?: string;
  /** The test host it runs on, if not the machine itself. */
  host?: string;
}

/** Where each relay runs when the system has test hosts: a host of its own, so a partition can cut it off. */
const RELAY_HOSTS: Record<string, { host: string; octet: number }> = {
  'outbox-relay-1': { host: 'relay-1', octet: 21 },
  'outbox-relay-2': { host: 'relay-2', octet: 22 },
};

/** The replicas of the replicated profile (make up-cluster), by the names the suite kills them by. */
export const REPLICAS = {
  api: ['card-api-1', 'card-api-2'],
  relays: ['outbox-relay-1', 'outbox-relay-2'],
  consumers: ['card-events-consumer-1', 'card-events-consumer-2'],
  workers: ['provider-worker-1', 'provider-worker-2', 'provider-worker-3'],
} as const;

/**
 * The replicated profile as separate OS processes over a three-broker cluster of the suite's own: two card-apis,
 * two outbox relays, two card-events consumers, three provider-workers and the provider, each replica's Kafka
 * client id its name. Topics have three replicas and min.insync.replicas 2, as make up-cluster makes them.
 *
 * Given a test network, each broker and each relay runs on a test host of its own, and PostgreSQL is a server of
 * the suite's own on the machine's address of that network: `cut` then partitions a host from every other and from
 * the database. The other processes run on the machine itself.
 */
export class ReplicatedSystem {
  readonly processes = new Map<string, ServiceProcess>();
  private readonly specs = new Map<string, ProcessSpec>();
  kafkaCluster!: TestKafkaCluster;
  kafka!: Kafka;
  cardDatabase!: TestDatabase;
  providerDatabase!: TestDatabase;
  apiUrls: string[] = [];
  providerUrl = '';

  private postgres: TestPostgres | undefined;

  constructor(
    private readonly options: {
      label: string;
      portPrefix: string;
      settings: Record<string, string>;
      network?: TestNetwork;
    },
  ) {}

  async start(): Promise<void> {
    const { network } = this.options;
    this.kafkaCluster = await TestKafkaCluster.start(this.options.portPrefix, network?.net);
    const brokers = this.kafkaCluster.brokers;
    this.kafka = createKafka(
      { clientId: 'cluster-suite', brokers },
      createLogger({ service: 'suite', level: 'silent' }),
    );
    await ensureTopics(this.kafka, allTopics, { partitions: 6, replicationFactor: 3, minInsyncReplicas: 2 });

    if (network) {
      this.postgres = await TestPostgres.start(network.machineAddress, await freeTcpPort());
      this.cardDatabase = await this.postgres.createDatabase('cards');
      this.providerDatabase = await this.postgres.createDatabase('provider');
      for (const { host, octet } of Object.values(RELAY_HOSTS)) {
        await network.addHost(host, octet);
      }
    } else {
      this.cardDatabase = await createTestDatabase(`${this.options.label}-cards`);
      this.providerDatabase = await createTestDatabase(`${this.options.label}-provider`);
    }
    const db = createDatabase({ url: this.cardDatabase.url, poolMax: 1 });
    await migrateToLatest(db);
    await db.destroy();

    const port = async () => String(await freeTcpPort());
    const providerPort = await port();
    this.providerUrl = `http://127.0.0.1:${providerPort}`;
    const common = {
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      KAFKA_BROKERS: brokers.join(','),
      DATABASE_URL: this.cardDatabase.url,
      PROVIDER_URL: this.providerUrl,
      SHUTDOWN_TIMEOUT_MS: '5000',
      ...this.options.settings,
    };
    this.specs.set('mock-provider', {
      service: 'mock-provider',
      entry: 'main-provider',
      env: { ...common, HTTP_PORT: providerPort, DATABASE_URL: this.providerDatabase.url },
      readyUrl: `${this.providerUrl}/healthz`,
    });
    for (const name of REPLICAS.api) {
      const apiPort = await port();
      const url = `http://127.0.0.1:${apiPort}`;
      this.apiUrls.push(url);
      this.specs.set(name, {
        service: 'card-api',
        entry: 'main-api',
        env: {
          ...common,
          HTTP_PORT: apiPort,
          KAFKA_CLIENT_ID: name,
          RATE_LIMIT_CARD_CREATE_PER_USER: '100000',
          RATE_LIMIT_CARD_CREATE_PER_IP: '100000',
        },
        readyUrl: `${url}/healthz`,
      });
    }
    for (const name of REPLICAS.relays) {
      this.specs.set(name, {
        service: 'card-api',
        entry: 'main-outbox-relay',
        env: { ...common, OUTBOX_RELAY_HTTP_PORT: await port(), KAFKA_CLIENT_ID: name },
        ...(network && { host: RELAY_HOSTS[name]?.host }),
      });
    }
    for (const name of REPLICAS.consumers) {
      this.specs.set(name, {
        service: 'card-api',
        entry: 'main-card-events-consumer',
        env: { ...common, CARD_EVENTS_HTTP_PORT: await port(), KAFKA_CLIENT_ID: name },
      });
    }
    for (const name of REPLICAS.workers) {
      const workerPort = await port();
      this.specs.set(name, {
        service: 'provider-worker',
        entry: 'main-worker',
        env: { ...common, HTTP_PORT: workerPort, KAFKA_CLIENT_ID: name },
        readyUrl: `http://127.0.0.1:${workerPort}/healthz`,
      });
    }
    for (const name of this.specs.keys()) {
      await this.startProcess(name);
    }
  }

  async startProcess(name: string): Promise<void> {
    const spec = this.specs.get(name);
    if (!spec) {
      throw new Error(`unknown process ${name}`);
    }
    this.processes.set(
      name,
      await startServiceProcess({
        name: `${this.options.label}-${name}`,
        service: spec.service,
        entry: spec.entry,
        env: spec.env,
        ...(spec.readyUrl && { readyUrl: spec.readyUrl, readyTimeoutMs: 90_000 }),
        ...(spec.host && this.options.network && { runOn: this.options.network.runOn(spec.host) }),
      }),
    );
  }

  /** SIGKILL: no draining, no commit, no goodbye to the group or the database. */
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

  /** The replica whose database session holds the relay's lock now (its session name says its pid), if any. */
  async activeRelay(): Promise<string | undefined> {
    const db = createDatabase({ url: this.cardDatabase.url, poolMax: 1 });
    try {
      const holder = await findAdvisoryLockHolder(RELAY_LOCK_KEY, db);
      const pid = /pid (\d+)/.exec(holder?.applicationName ?? '')?.[1];
      return REPLICAS.relays.find((name) => String(this.processes.get(name)?.pid) === pid);
    } finally {
      await db.destroy();
    }
  }

  /** The test host `name` runs on (a broker: kafka-<node>), when the system has test hosts. */
  hostOf(name: string): string | undefined {
    return this.specs.get(name)?.host;
  }

  async stop(): Promise<void> {
    await Promise.all([...this.processes.values()].map((process) => process.stop()));
    this.processes.clear();
    if (process.env['CLUSTER_KEEP']) {
      // For a post-mortem: the brokers and the databases stay as the run left them, until deleted by hand.
      process.stdout.write(
        `[cluster] kept: brokers ${this.kafkaCluster.brokers.join(',')}, cards ${this.cardDatabase.url}, provider ${this.providerDatabase.url}\n`,
      );
      return;
    }
    await this.kafkaCluster.stop();
    if (this.postgres) {
      await this.postgres.stop();
    } else {
      await this.cardDatabase.drop();
      await this.providerDatabase.drop();
    }
  }
}

/**
 * Whether `groupId` has finished rebalancing as the coordinator sees it: Stable, its members' client ids include
 * every one of `present` and none of `absent` (a member killed with SIGKILL stays in the group, its partitions
 * unread, until its session times out), and every partition of `topic` is owned.
 */
export async function groupSettled(
  kafka: Kafka,
  groupId: string,
  topic: string,
  expected: { present?: readonly string[]; absent?: readonly string[] } = {},
): Promise<boolean> {
  return withKafkaAdmin(kafka, async (admin) => {
    if ((await admin.groupState(groupId)).state !== 'Stable') {
      return false;
    }
    const members = await admin.groupMembers(groupId);
    const clientIds = new Set(members.map((member) => member.clientId));
    if (
      (expected.present ?? []).some((clientId) => !clientIds.has(clientId)) ||
      (expected.absent ?? []).some((clientId) => clientIds.has(clientId))
    ) {
      return false;
    }
    const owned = new Set(
      members.flatMap((member) =>
        member.assignment.filter((a) => a.topic === topic).flatMap((a) => a.partitions),
      ),
    );
    return (await admin.topicOffsets(topic)).every(({ partition }) => owned.has(partition));
  });
}
