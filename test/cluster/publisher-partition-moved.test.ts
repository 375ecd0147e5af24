import { Topics } from '@cards/contracts';
import { KafkaEventPublisher } from '@cards/messaging';
import { eventually, readTopicValues } from '@cards/test-support';

import {
  createTopicOnTwoLeaders,
  keyForPartition,
  partitionLeaders,
  TestKafkaCluster,
} from './support/kafka-cluster';

/**
 * The loss the first full cluster run saw: 351 commands marked published, never on the topic. kafkajs 2.2.4 retries
 * a send by broker, and a broker that answered is not asked again. When a leader refuses a partition that moved to a
 * broker that had already answered for another partition of the same send, the retry sends that partition's
 * messages nowhere and the send resolves. Leaders move whenever brokers die and come back, and the relay's batches
 * span every leader. With kafkajs's retries on, the send here resolves without its moved message; the publisher
 * turns them off and sends a failed batch again whole, on a new producer.
 */
describe('the publisher when a partition moved since its last send', () => {
  const topic = 'publisher-partition-moved';
  let cluster: TestKafkaCluster;

  beforeAll(async () => {
    cluster = await TestKafkaCluster.start('93');
    await createTopicOnTwoLeaders(cluster, topic);
  }, 180_000);

  afterAll(async () => {
    await cluster.stop();
  }, 120_000);

  it('when a partition moved to the broker that answered for the other one, then a send resolves with both messages on the topic', async () => {
    const publisher = new KafkaEventPublisher(cluster.client('moved'), Topics);
    const [first, second] = [keyForPartition(0), keyForPartition(1)];
    const message = (key: string, value: string) => ({ key, value, headers: {} });
    try {
      // The producer learns the leaders now (partition 0 on broker 1, 1 on broker 2) and keeps them.
      await publisher.sendRaw([{ topic, messages: [message(first, 'warm-0'), message(second, 'warm-1')] }]);

      // Broker 2 leaves partition 1's replicas, so broker 1 leads both; the producer's metadata still says 2.
      const admin = cluster.client('reassign').admin();
      await admin.connect();
      try {
        await admin.alterPartitionReassignments({
          topics: [{ topic, partitionAssignment: [{ partition: 1, replicas: [1, 3] }] }],
        });
      } finally {
        await admin.disconnect();
      }
      await eventually(
        async () => {
          expect(await partitionLeaders(cluster.client('leaders'), topic)).toEqual([1, 1]);
        },
        { timeoutMs: 30_000, intervalMs: 250 },
      );

      await publisher.sendRaw([{ topic, messages: [message(first, 'stayed'), message(second, 'moved')] }]);

      const values = await readTopicValues(cluster.client('reader'), topic);
      expect(['stayed', 'moved'].filter((value) => !values.includes(value))).toEqual([]);
    } finally {
      await publisher.disconnect();
    }
  }, 120_000);
});
