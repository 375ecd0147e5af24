import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import { Kafka, logLevel, Partitioners } from 'kafkajs';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../../..');
const SCRIPT = path.join(ROOT, 'scripts/kafka-cluster.sh');

/**
 * A three-node KRaft cluster of its own for one test file (scripts/kafka-cluster.sh on other ports and in a
 * temporary directory), with the faults a cluster sees: a node killed with SIGKILL, and started again.
 */
export class TestKafkaCluster {
  private constructor(
    private readonly env: NodeJS.ProcessEnv,
    private readonly directory: string,
    readonly brokers: string[],
  ) {}

  /** With `testNet`, node n runs on the test host kafka-n of that network (scripts/test-hosts.sh). */
  static async start(portPrefix: string, testNet?: number): Promise<TestKafkaCluster> {
    const directory = mkdtempSync(path.join(tmpdir(), 'kafka-cluster-'));
    const env = {
      ...process.env,
      KAFKA_CLUSTER_PORT_PREFIX: portPrefix,
      KAFKA_CLUSTER_DIR: directory,
      ...(testNet !== undefined && { KAFKA_CLUSTER_TEST_NET: String(testNet) }),
    };
    const cluster = new TestKafkaCluster(env, directory, []);
    await cluster.script('start');
    const { stdout } = await cluster.script('brokers');
    return new TestKafkaCluster(env, directory, stdout.trim().split(','));
  }

  /** The node (1..3) that listens on `broker` (host:port). */
  nodeOf(broker: string): number {
    return this.brokers.indexOf(broker) + 1;
  }

  async kill(node: number): Promise<void> {
    await this.script('kill', String(node));
  }

  async restart(node: number): Promise<void> {
    await this.script('restart', String(node));
  }

  async stop(): Promise<void> {
    await this.script('clean').catch(() => undefined);
    rmSync(this.directory, { recursive: true, force: true });
  }

  /** A kafkajs client of the test's own (for the admin view of leaders and replicas), quiet. */
  client(clientId: string): Kafka {
    return new Kafka({ clientId, brokers: this.brokers, logLevel: logLevel.NOTHING });
  }

  private script(...args: string[]): Promise<{ stdout: string; stderr: string }> {
    return run(SCRIPT, args, { env: this.env, cwd: ROOT, timeout: 180_000 });
  }
}

/** The leader (node id) of each partition of `topic`, by partition id, as the metadata the client reaches says. */
export async function partitionLeaders(kafka: Kafka, topic: string): Promise<number[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [metadata] = (await admin.fetchTopicMetadata({ topics: [topic] })).topics;
    return [...(metadata?.partitions ?? [])]
      .sort((a, b) => a.partitionId - b.partitionId)
      .map((partition) => partition.leader);
  } finally {
    await admin.disconnect();
  }
}

/** Which broker (node id) leads the most partitions of `topic`, and how many it leads. */
export async function busiestLeader(
  kafka: Kafka,
  topic: string,
): Promise<{ node: number; partitions: number }> {
  const led = new Map<number, number>();
  for (const leader of await partitionLeaders(kafka, topic)) {
    led.set(leader, (led.get(leader) ?? 0) + 1);
  }
  const [node, partitions] = [...led.entries()].sort((a, b) => b[1] - a[1])[0] ?? [0, 0];
  return { node, partitions };
}

/** Creates a two-partition topic whose partition 0 is led by broker 1 and partition 1 by broker 2, all on three. */
export async function createTopicOnTwoLeaders(cluster: TestKafkaCluster, topic: string): Promise<void> {
  const admin = cluster.client('setup').admin();
  await admin.connect();
  try {
    await admin.createTopics({
      topics: [
        {
          topic,
          replicaAssignment: [
            { partition: 0, replicas: [1, 2, 3] },
            { partition: 1, replicas: [2, 1, 3] },
          ],
          configEntries: [{ name: 'min.insync.replicas', value: '2' }],
        },
      ],
      waitForLeaders: true,
    });
  } finally {
    await admin.disconnect();
  }
}

/** A key that the producers' partitioner (murmur2, as Kafka's own) sends to `partition` of a two-partition topic. */
export function keyForPartition(partition: 0 | 1): string {
  const partitioner = Partitioners.DefaultPartitioner();
  const partitionMetadata = [0, 1].map((id) => ({
    partitionId: id,
    partitionErrorCode: 0,
    leader: 0,
    replicas: [],
    isr: [],
  }));
  for (let n = 0; ; n++) {
    const key = `card-${n}`;
    if (partitioner({ topic: 'any', partitionMetadata, message: { key, value: null } }) === partition) {
      return key;
    }
  }
}
