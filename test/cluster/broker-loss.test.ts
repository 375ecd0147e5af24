import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

import { ConfigResourceTypes } from 'kafkajs';

import { Topics } from '@cards/contracts';
import { createKafka, KafkaEventPublisher } from '@cards/messaging';
import { createLogger } from '@cards/runtime';
import { createTestDatabase, dropTestDatabase, type TestDatabase } from '@cards/test-support';

import { loadConfig } from '../../services/card-api/src/config';
import { buildProvisionCommand } from '../../services/provider-worker/test/support/fakes';
import { setUp } from '../../services/card-api/src/main-setup';
import { busiestLeader, TestKafkaCluster } from './support/kafka-cluster';

const logger = createLogger({ service: 'cluster-test', level: 'silent' });

/**
 * Publishes one event at a time, as the relay's producer does (acks=all), and keeps what Kafka
 * acknowledged apart from what it refused, until stopped.
 */
function publishContinuously(publisher: KafkaEventPublisher) {
  const acknowledged: string[] = [];
  let refused = 0;
  const state = { running: true };
  const done = (async () => {
    while (state.running) {
      const event = buildProvisionCommand();
      try {
        await publisher.publish([event]);
        acknowledged.push(event.id);
      } catch {
        refused += 1;
        await sleep(200);
      }
    }
  })();
  return {
    acknowledged: () => acknowledged.length,
    refused: () => refused,
    ids: () => [...acknowledged],
    async stop() {
      state.running = false;
      await done;
    },
  };
}

describe('a three-broker cluster: replication factor 3, min.insync.replicas 2, producers on acks=all', () => {
  let cluster: TestKafkaCluster;
  let database: TestDatabase;

  beforeAll(async () => {
    cluster = await TestKafkaCluster.start('93');
    database = await createTestDatabase('cluster-broker-loss');
  }, 240_000);

  afterAll(async () => {
    await cluster.stop();
    await dropTestDatabase(database.name);
  }, 120_000);

  it('when set-up runs with the cluster settings, then every topic has three replicas and min.insync.replicas 2', async () => {
    await setUp(
      loadConfig({
        DATABASE_URL: database.url,
        KAFKA_BROKERS: cluster.brokers.join(','),
        KAFKA_TOPIC_REPLICATION_FACTOR: '3',
        KAFKA_TOPIC_MIN_INSYNC_REPLICAS: '2',
        LOG_LEVEL: 'silent',
      }),
    );

    const admin = cluster.client('cluster-test-admin').admin();
    await admin.connect();
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: [Topics.provisioningCommands] });
      const replicas = topics[0]?.partitions.map((partition) => partition.replicas.length);
      expect(replicas).toEqual(Array(6).fill(3));
      const { resources } = await admin.describeConfigs({
        resources: [
          {
            type: ConfigResourceTypes.TOPIC,
            name: Topics.provisioningCommands,
            configNames: ['min.insync.replicas'],
          },
        ],
        includeSynonyms: false,
      });
      expect(
        resources[0]?.configEntries.find((entry) => entry.configName === 'min.insync.replicas')?.configValue,
      ).toBe('2');
    } finally {
      await admin.disconnect();
    }
  }, 120_000);

  it('when the busiest leader is killed under load, then publishing goes on; with a second one gone, nothing is acknowledged; after both return, every acknowledged event is there', async () => {
    const publisher = new KafkaEventPublisher(
      createKafka({ clientId: 'cluster-test-producer', brokers: cluster.brokers, retries: 3 }, logger),
    );
    await publisher.connect();
    const load = publishContinuously(publisher);
    const waitForAcks = async (count: number, timeoutMs: number): Promise<void> => {
      const deadline = Date.now() + timeoutMs;
      while (load.acknowledged() < count && Date.now() < deadline) {
        await sleep(100);
      }
      expect(load.acknowledged()).toBeGreaterThanOrEqual(count);
    };
    try {
      await waitForAcks(100, 30_000);

      const first = await busiestLeader(cluster.client('cluster-test-leaders'), Topics.provisioningCommands);
      expect(first.partitions).toBeGreaterThanOrEqual(2);
      await cluster.kill(first.node);
      const ackedAtFirstLoss = load.acknowledged();
      // A new leader is elected from the in-sync replicas and the producer finds it.
      await waitForAcks(ackedAtFirstLoss + 100, 60_000);

      const second = [1, 2, 3].find((node) => node !== first.node) ?? 0;
      await cluster.kill(second);
      // In flight at the kill: a publish may still be acknowledged by replicas that had it in time.
      await sleep(3000);
      const ackedAtSecondLoss = load.acknowledged();
      // One replica cannot make two in sync, and one voter of three is no quorum: the producer blocks in its retries
      // or is refused, and nothing is acknowledged.
      await sleep(10_000);
      expect(load.acknowledged()).toBe(ackedAtSecondLoss);

      await cluster.restart(first.node);
      await cluster.restart(second);
      await waitForAcks(ackedAtSecondLoss + 100, 90_000);
    } finally {
      await load.stop();
      await publisher.disconnect();
    }

    const written = await readAllIds(cluster, Topics.provisioningCommands);
    const lost = load.ids().filter((id) => !written.has(id));
    expect(lost).toEqual([]);
  }, 300_000);
});

/** The ids of every event the topic holds, read from the start of every partition to its end. */
async function readAllIds(cluster: TestKafkaCluster, topic: string): Promise<Set<string>> {
  const kafka = cluster.client('cluster-test-reader');
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const remaining = new Map(ends.map((end) => [end.partition, Number(end.high)]));
  const ids = new Set<string>();
  const consumer = kafka.consumer({ groupId: `cluster-test-reader-${randomUUID()}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve, reject) => {
    const check = () => {
      if ([...remaining.values()].every((high) => high <= 0)) {
        resolve();
      }
    };
    check();
    consumer
      .run({
        eachMessage: ({ partition, message }) => {
          // The event's id travels in its ce_id header (the value is the data alone).
          const id = message.headers?.['ce_id']?.toString();
          if (id) {
            ids.add(id);
          }
          remaining.set(
            partition,
            Number(ends.find((end) => end.partition === partition)?.high) - Number(message.offset) - 1,
          );
          check();
          return Promise.resolve();
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();
  return ids;
}
