import { EventEmitter } from 'node:events';

import type { AnyCardEvent } from '@cards/contracts';
import { createLogger, createMetricsRegistry } from '@cards/runtime';
import { metricValue, parseExposition } from '@cards/test-support';
import type { Admin, Kafka } from 'kafkajs';

import { consumerMetrics } from './consumer-metrics';
import type { ConsumerSignals, DeliveryContext } from './delivery';
import { readConsumerLag } from './lag';

const logger = createLogger({ service: 'test', level: 'silent' });

async function scrape(registry: ReturnType<typeof createMetricsRegistry>) {
  return parseExposition(await registry.metrics());
}

function context(topic: string): DeliveryContext {
  return { topic, partition: 0, offset: '0', attempt: 1, signal: new AbortController().signal };
}

/** A kafkajs stand-in whose admin answers the given offsets, or fails when `failing` is set. */
function fakeKafka(state: {
  committed: { partition: number; offset: string }[];
  watermarks: { partition: number; low: string; high: string }[];
  failing?: boolean;
  admins?: number;
}): Pick<Kafka, 'admin'> {
  return {
    admin: () => {
      state.admins = (state.admins ?? 0) + 1;
      const fail = async (): Promise<void> => {
        if (state.failing) {
          throw new Error('broker gone');
        }
        return Promise.resolve();
      };
      return {
        connect: fail,
        disconnect: () => Promise.resolve(),
        fetchOffsets: async ({ topics }: { topics: string[] }) => {
          await fail();
          return topics.map((topic) => ({ topic, partitions: state.committed }));
        },
        fetchTopicOffsets: async () => {
          await fail();
          return state.watermarks.map((mark) => ({ ...mark, offset: mark.high }));
        },
      } as unknown as Admin;
    },
  };
}

describe('readConsumerLag', () => {
  it('when a partition has a committed offset, then its lag is the high watermark minus it; with none, high minus low', async () => {
    const admin = fakeKafka({
      committed: [
        { partition: 0, offset: '5' },
        { partition: 1, offset: '-1' },
        { partition: 2, offset: '3' },
      ],
      watermarks: [
        { partition: 0, low: '0', high: '8' },
        { partition: 1, low: '2', high: '6' },
        // Retention removed offsets below the committed one: what is left counts.
        { partition: 2, low: '10', high: '12' },
      ],
    }).admin();

    const lags = await readConsumerLag(admin, 'group', ['topic']);

    expect(lags).toEqual([
      { topic: 'topic', partition: 0, lag: 3 },
      { topic: 'topic', partition: 1, lag: 4 },
      { topic: 'topic', partition: 2, lag: 2 },
    ]);
  });
});

describe('consumerMetrics', () => {
  it('when messages are handled and dead-lettered, then the counters move per topic, from 0', async () => {
    const registry = createMetricsRegistry();
    const signals = new EventEmitter<ConsumerSignals>();
    const metrics = consumerMetrics({
      registry,
      kafka: fakeKafka({ committed: [], watermarks: [] }),
      groupId: 'group',
      topics: ['a', 'b'],
      logger,
      timeoutMs: 1000,
    });

    expect(metricValue(await scrape(registry), 'kafka_messages_handled_total', { topic: 'b' })).toBe(0);
    metrics.watch(signals);
    signals.emit('handled', {} as AnyCardEvent, context('a'));
    signals.emit('handled', {} as AnyCardEvent, context('a'));
    signals.emit('dead-lettered', 'bad', context('b'));
    const exposition = await scrape(registry);
    await metrics.close();

    expect(metricValue(exposition, 'kafka_messages_handled_total', { topic: 'a' })).toBe(2);
    expect(metricValue(exposition, 'kafka_dead_letters_total', { topic: 'b' })).toBe(1);
    expect(metricValue(exposition, 'kafka_dead_letters_total', { topic: 'a' })).toBe(0);
  });

  it('when Kafka stops answering, then a scrape still succeeds with the last lag, and a fresh admin is used next', async () => {
    const registry = createMetricsRegistry();
    const state: Parameters<typeof fakeKafka>[0] = {
      committed: [{ partition: 0, offset: '1' }],
      watermarks: [{ partition: 0, low: '0', high: '4' }],
    };
    const metrics = consumerMetrics({
      registry,
      kafka: fakeKafka(state),
      groupId: 'group',
      topics: ['t'],
      logger,
      timeoutMs: 1000,
    });
    const lag = async () =>
      metricValue(await scrape(registry), 'kafka_consumer_lag', {
        group: 'group',
        topic: 't',
        partition: '0',
      });

    expect(await lag()).toBe(3);
    state.failing = true;
    expect(await lag()).toBe(3);
    state.failing = false;
    state.committed = [{ partition: 0, offset: '4' }];
    expect(await lag()).toBe(0);
    await metrics.close();

    expect(state.admins).toBe(2);
  });
});
