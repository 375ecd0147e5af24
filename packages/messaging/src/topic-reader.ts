import { randomUUID } from 'node:crypto';

import type { KafkaMessage } from 'kafkajs';

import { withKafkaAdmin, type PartitionOffsets } from './admin';
import type { KafkaClient } from './client';
import { headersToStrings } from './dead-letters';

/** Headers as Kafka holds them: bytes or text, a name possibly repeated. */
export type RawHeaders = Record<string, Buffer | string | (Buffer | string)[] | undefined>;

/** One message as it was read, bytes untouched, for tools that show or copy messages rather than consume them. */
export interface RawMessage {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  /** Each header as text (the first value of a repeated one), for decoding and display. */
  headers: Record<string, string | undefined>;
  /** The headers exactly as they arrived: what a copy of the message (a replay) writes back. */
  rawHeaders: RawHeaders;
  /** When Kafka took the message, in milliseconds since the epoch, as the broker reports it. */
  timestamp: string;
}

/** Why a read ended: it reached the end offsets the topic had when it began, or `signal` aborted it. */
export type TopicReadEnd = 'end' | 'aborted';

/** What readTopic is asked to read, and what it tells the caller on the way. */
export interface TopicReadOptions {
  kafka: KafkaClient;
  topic: string;
  /** From the earliest message, or from the end offsets the topic had when the read began. */
  from: 'beginning' | 'end';
  /** `end`: stop after the end offsets the topic had when the read began. `aborted`: follow until `signal` aborts. */
  until: 'end' | 'aborted';
  /** The throw-away consumer group's name starts with it, so an operator can tell whose group it is. */
  groupPrefix: string;
  /** Gets each message once, in offset order per partition; never after the read has ended. */
  onMessage: (message: RawMessage) => void;
  /** Called once the group is joined and positioned (the tail says "following" then). */
  onReading?: (info: { partitions: number }) => void;
  signal?: AbortSignal;
  /** `until: 'end'` only: how long reaching the end may take; 30 s unless set. */
  timeoutMs?: number;
}

/**
 * Reads `topic` with a throw-away consumer group that commits nothing and is deleted afterwards, so reading never
 * moves anyone's offsets; `topics tail` and the dead-letter list both read through it. Rejects when the topic does
 * not exist, or (`until: 'end'`) when the end is not reached within `timeoutMs`.
 */
export async function readTopic(options: TopicReadOptions): Promise<TopicReadEnd> {
  const { kafka, topic } = options;
  const groupId = `${options.groupPrefix}-${randomUUID()}`;
  return withKafkaAdmin(kafka, async (admin) => {
    try {
      if (!(await admin.listTopics()).includes(topic)) {
        throw new Error(`topic ${topic} does not exist`);
      }
      return await consume(groupId, await admin.topicOffsets(topic), options);
    } finally {
      await admin.deleteGroup(groupId).catch(() => undefined);
    }
  });
}

async function consume(
  groupId: string,
  endOffsets: readonly PartitionOffsets[],
  options: TopicReadOptions,
): Promise<TopicReadEnd> {
  const { kafka, topic } = options;
  const toEnd = options.until === 'end';
  // Reading to the end: the last offset to read per partition; empty partitions (high = low) need no reading.
  const remaining = new Map<number, bigint>();
  if (toEnd) {
    for (const { partition, high, low } of endOffsets) {
      if (BigInt(high) > BigInt(low)) {
        remaining.set(partition, BigInt(high) - 1n);
      }
    }
    if (remaining.size === 0) {
      return 'end';
    }
  }
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100, allowAutoTopicCreation: false });
  // Settled once; `done` turns synchronously, so a message kafkajs hands over after the end is not passed on.
  const state = { done: false };
  let settle: { resolve: (end: TopicReadEnd) => void; reject: (error: unknown) => void } | undefined;
  const ended = new Promise<TopicReadEnd>((resolve, reject) => {
    settle = { resolve, reject };
  });
  // Awaited below; a crash before then must not count as an unhandled rejection.
  void ended.catch(() => undefined);
  const finish = (end: TopicReadEnd): void => {
    if (!state.done) {
      state.done = true;
      settle?.resolve(end);
    }
  };
  const fail = (error: unknown): void => {
    if (!state.done) {
      state.done = true;
      settle?.reject(error);
    }
  };
  const onAbort = (): void => {
    finish('aborted');
  };
  options.signal?.addEventListener('abort', onAbort, { once: true });
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (!payload.restart) {
      fail(payload.error);
    }
  });
  // Nothing is committed, so each time the group is joined (at start, and again after kafkajs restarts the consumer
  // when a broker goes away) the position is set here: where this read stopped, else the end offsets at the start
  // (from the end) or the earliest (from the beginning). A broker restart then neither repeats messages nor loses any.
  const next = new Map<number, bigint>();
  consumer.on(consumer.events.GROUP_JOIN, () => {
    for (const { partition, high } of endOffsets) {
      const offset = next.get(partition) ?? (options.from === 'beginning' ? undefined : BigInt(high));
      if (offset !== undefined) {
        consumer.seek({ topic, partition, offset: offset.toString() });
      }
    }
  });
  let timer: NodeJS.Timeout | undefined;
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: options.from === 'beginning' });
    if (toEnd) {
      const timeoutMs = options.timeoutMs ?? 30_000;
      timer = setTimeout(() => {
        fail(new Error(`timed out after ${timeoutMs} ms`));
      }, timeoutMs);
    }
    // run() resolves once the group is joined (and the GROUP_JOIN handler has positioned the partitions).
    const running = consumer
      .run({
        autoCommit: false,
        eachMessage: ({ partition, message }) => {
          const offset = BigInt(message.offset);
          const last = remaining.get(partition);
          if (
            state.done ||
            offset < (next.get(partition) ?? 0n) ||
            (toEnd && (last === undefined || offset > last))
          ) {
            return Promise.resolve();
          }
          next.set(partition, offset + 1n);
          options.onMessage(rawMessage(topic, partition, message));
          if (offset === last) {
            remaining.delete(partition);
            if (remaining.size === 0) {
              finish('end');
            }
          }
          return Promise.resolve();
        },
      })
      .then(() => {
        options.onReading?.({ partitions: endOffsets.length });
        if (options.signal?.aborted) {
          finish('aborted');
        }
      });
    // A failure ends the read at once, even while the group is still joining; a read aborted then still waits for
    // the join, so a caller always hears onReading before the read returns (the tail's "following" line, then its
    // "stopped" one).
    const [, end] = await Promise.all([running, ended]).catch((error: unknown) => {
      throw toEnd
        ? new Error(
            `reading ${topic} did not reach its end offsets: ${error instanceof Error ? error.message : String(error)}`,
          )
        : error;
    });
    return end;
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
    await consumer.disconnect();
  }
}

function rawMessage(topic: string, partition: number, message: KafkaMessage): RawMessage {
  return {
    topic,
    partition,
    offset: message.offset,
    key: message.key ?? null,
    value: message.value ?? null,
    headers: headersToStrings(message.headers),
    rawHeaders: message.headers ?? {},
    timestamp: message.timestamp,
  };
}
