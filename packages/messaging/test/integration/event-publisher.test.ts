import { connect } from 'node:net';

import { Topics } from '@cards/contracts';
import { ensureTopics, KafkaEventPublisher } from '@cards/messaging';
import { eventually, freeTcpPort, TcpProxy, testKafkaBrokers, uniqueSuffix } from '@cards/test-support';
import { Kafka, logLevel } from 'kafkajs';

/**
 * The publisher against the real broker, reached through a proxy that can hold back the broker's answers: the
 * case where Kafka has written a batch but the producer never hears so.
 */
describe('the Kafka event publisher', () => {
  const suffix = uniqueSuffix();
  const topic = `test.publisher.${suffix}`;
  const [brokerHost = '127.0.0.1', brokerPort = '9092'] = (testKafkaBrokers()[0] ?? '').split(':');
  const direct = new Kafka({
    clientId: `test-direct-${suffix}`,
    brokers: testKafkaBrokers(),
    logLevel: logLevel.NOTHING,
  });
  let proxy: TcpProxy;
  let viaProxy: Kafka;

  beforeAll(async () => {
    await ensureTopics(direct, [topic], { partitions: 1 });
    proxy = new TcpProxy(await freeTcpPort(), { host: brokerHost, port: Number(brokerPort) });
    await proxy.start();
    viaProxy = new Kafka({
      clientId: `test-proxied-${suffix}`,
      brokers: [`127.0.0.1:${proxy.listenPort}`],
      requestTimeout: 1000,
      // Few retries (an idempotent producer refuses none), so a held-back answer fails the send quickly.
      retry: { retries: 1, initialRetryTime: 100 },
      logLevel: logLevel.NOTHING,
      // The broker advertises its own address; every connection, bootstrap or not, goes through the proxy.
      socketFactory: ({ onConnect }) => connect({ host: '127.0.0.1', port: proxy.listenPort }, onConnect),
    });
  });

  afterAll(async () => {
    await proxy.stop();
  });

  async function highWatermark(): Promise<number> {
    const admin = direct.admin();
    await admin.connect();
    try {
      const [partition] = await admin.fetchTopicOffsets(topic);
      return Number(partition?.high ?? 0);
    } finally {
      await admin.disconnect();
    }
  }

  function messages(...values: string[]): { key: string; value: string; headers: Record<string, string> }[] {
    return values.map((value) => ({ key: 'card-1', value, headers: {} }));
  }

  it('when Kafka wrote a batch whose acknowledgement was lost, then the next, different batch is still accepted', async () => {
    const publisher = new KafkaEventPublisher(viaProxy, Topics);
    try {
      await publisher.sendRaw([{ topic, messages: messages('first') }]);

      proxy.setResponseLatency(3000);
      await expect(
        publisher.sendRaw([{ topic, messages: messages('second-a', 'second-b') }]),
      ).rejects.toThrow();
      // The broker did write it: the request went through, only the answer is late.
      await eventually(async () => {
        expect(await highWatermark()).toBe(3);
      });
      proxy.setResponseLatency(0);
      await proxy.delayedChunksForwarded();

      // kafkajs rolled its sequence numbers back; without a new producer session this batch, which starts at the
      // sequence the broker already holds, is refused as out of order, and so is every batch after it.
      await publisher.sendRaw([{ topic, messages: messages('third-a', 'third-b', 'third-c') }]);
      await publisher.sendRaw([{ topic, messages: messages('fourth') }]);
      expect(await highWatermark()).toBe(7);
    } finally {
      await publisher.disconnect();
    }
  });
});
