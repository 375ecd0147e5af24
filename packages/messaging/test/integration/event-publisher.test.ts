import { connect } from 'node:net';

import { Topics } from '@cards/contracts';
import { ensureTopics, KafkaEventPublisher } from '@cards/messaging';
import {
  eventually,
  freeTcpPort,
  readTopicValues,
  TcpProxy,
  testKafkaBrokers,
  uniqueSuffix,
} from '@cards/test-support';
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
      // Few retries, so a held-back answer fails a send quickly.
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
    // One try a send: the send whose answer is held back fails instead of being sent again.
    const publisher = new KafkaEventPublisher(viaProxy, Topics, undefined, { sendAttempts: 1 });
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

      // An idempotent kafkajs producer would have rolled its sequence numbers back, and this batch, starting at a
      // sequence the broker already holds, would be refused as out of order, and every batch after it.
      await publisher.sendRaw([{ topic, messages: messages('third-a', 'third-b', 'third-c') }]);
      await publisher.sendRaw([{ topic, messages: messages('fourth') }]);
      expect(await highWatermark()).toBe(7);
    } finally {
      await publisher.disconnect();
    }
  });

  it('when a send times out while Kafka writes it and another send waits, then every send that resolved is on the topic', async () => {
    const publisher = new KafkaEventPublisher(viaProxy, Topics);
    try {
      await publisher.sendRaw([{ topic, messages: messages('warm-up') }]);
      proxy.setResponseLatency(1500);
      // The first send's answer comes after its timeout; the second waits behind it for the broker.
      const first = publisher.sendRaw([{ topic, messages: messages('timed-out') }]);
      await new Promise((resolve) => setTimeout(resolve, 200));
      proxy.setResponseLatency(0);
      const second = publisher.sendRaw([{ topic, messages: messages('waiting') }]);
      const outcomes = await Promise.allSettled([first, second]);
      await proxy.delayedChunksForwarded();

      const onTopic = await readTopicValues(direct, topic);
      const acknowledged = ['timed-out', 'waiting'].filter(
        (_, index) => outcomes[index]?.status === 'fulfilled',
      );
      // kafkajs rolls a timed-out batch's sequence numbers back; a different batch sent next with the same numbers
      // looks to the broker like the first one again, is answered as a duplicate, and is never written.
      expect(acknowledged.filter((value) => !onTopic.includes(value))).toEqual([]);
      expect(acknowledged).toContain('waiting');
    } finally {
      await publisher.disconnect();
    }
  });
});
