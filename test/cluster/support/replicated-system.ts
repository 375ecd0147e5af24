import { allTopics } from '@cards/contracts';
import { createKafka, ensureTopics } from '@cards/messaging';
import { createLogger } from '@cards/runtime';
import {
  createTestDatabase,
  freeTcpPort,
  startServiceProcess,
  type ServiceProcess,
  type TestDatabase,
} from '@cards/test-support';
import { AssignerProtocol, type Kafka } from 'kafkajs';
import { Client } from 'pg';

import { createDatabase, migrateToLatest } from '../../../services/card-api/src/data-access/database';
import { RELAY_LOCK_KEY } from '../../../services/card-api/src/data-access/relay-lease';
import { TestKafkaCluster } from './kafka-cluster';

interface ProcessSpec {
  service: string;
  entry: string;
  env: Record<string, string>;
  readyUrl?: string;
}

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

  constructor(
    private readonly options: { label: string; portPrefix: string; settings: Record<string, string> },
  ) {}

  async start(): Promise<void> {
    this.kafkaCluster = await TestKafkaCluster.start(this.options.portPrefix);
    const brokers = this.kafkaCluster.brokers;
    this.kafka = createKafka(
      { clientId: 'cluster-suite', brokers },
      createLogger({ service: 'suite', level: 'silent' }),
    );
    await ensureTopics(this.kafka, allTopics, { partitions: 6, replicationFactor: 3, minInsyncReplicas: 2 });

    this.cardDatabase = await createTestDatabase(`${this.options.label}-cards`);
    this.providerDatabase = await createTestDatabase(`${this.options.label}-provider`);
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

  /** The replica whose database session holds the relay's lock now (its name says its pid), if any. */
  async activeRelay(): Promise<string | undefined> {
    const client = new Client({ connectionString: this.cardDatabase.url });
    await client.connect();
    try {
      const key = BigInt(RELAY_LOCK_KEY);
      const { rows } = await client.query<{ application_name: string | null }>(
        /* sql */ `SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                    WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
                      AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                      AND l.classid::bigint = $1 AND l.objid::bigint = $2`,
        [String((key >> 32n) & 0xffffffffn), String(key & 0xffffffffn)],
      );
      const pid = /pid (\d+)/.exec(rows[0]?.application_name ?? '')?.[1];
      return REPLICAS.relays.find((name) => String(this.processes.get(name)?.pid) === pid);
    } finally {
      await client.end();
    }
  }

  async stop(): Promise<void> {
    await Promise.all([...this.processes.values()].map((process) => process.stop()));
    this.processes.clear();
    await this.kafkaCluster.stop();
    await this.cardDatabase.drop();
    await this.providerDatabase.drop();
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
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [group] = (await admin.describeGroups([groupId])).groups;
    if (group?.state !== 'Stable') {
      return false;
    }
    const clientIds = new Set(group.members.map((member) => member.clientId));
    if (
      (expected.present ?? []).some((clientId) => !clientIds.has(clientId)) ||
      (expected.absent ?? []).some((clientId) => clientIds.has(clientId))
    ) {
      return false;
    }
    const [metadata] = (await admin.fetchTopicMetadata({ topics: [topic] })).topics;
    const owned = new Set<number>();
    for (const member of group.members) {
      const decoded = AssignerProtocol.MemberAssignment.decode(member.memberAssignment);
      for (const partition of decoded?.assignment[topic] ?? []) {
        owned.add(partition);
      }
    }
    return (metadata?.partitions ?? []).every((partition) => owned.has(partition.partitionId));
  } finally {
    await admin.disconnect();
  }
}
