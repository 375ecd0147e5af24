import { randomUUID } from 'node:crypto';

import {
  decodeEvent,
  deadLetterTopic,
  EventHeaders,
  type DecodeResult,
  type TopicNames,
} from '@cards/contracts';
import { DeadLetterHeaders } from '@cards/platform';
import type { Kafka, KafkaMessage } from 'kafkajs';

import { headerStrings, type Out } from './dlq.commands';

/** One message of a tailed topic, decoded and checked against the contracts. */
export interface TailedMessage {
  topic: string;
  partition: number;
  offset: string;
  /** When Kafka took the message (its timestamp): for a replayed dead letter, the replay, not the event. */
  timestamp: string;
  key: string | null;
  value: string | null;
  headers: Record<string, string>;
  decoded: DecodeResult;
}

/** Why a tail stopped. */
export type TailStop = 'signal' | 'max' | 'idle';

const ALIASES: Record<string, keyof TopicNames> = {
  commands: 'provisioningCommands',
  provisioningCommands: 'provisioningCommands',
  results: 'provisioningResults',
  provisioningResults: 'provisioningResults',
};

/**
 * The topic to tail: `commands` / `results` (or `provisioningCommands` / `provisioningResults`) name the topics
 * this environment is configured with, with or without `.dlq`; any other name is taken as it is.
 */
export function resolveTopic(name: string, topics: TopicNames): string {
  const suffix = deadLetterTopic('');
  const dlq = name.endsWith(suffix);
  const base = dlq ? name.slice(0, -suffix.length) : name;
  const alias = Object.hasOwn(ALIASES, base) ? ALIASES[base] : undefined;
  if (alias === undefined) {
    return name;
  }
  return dlq ? deadLetterTopic(topics[alias]) : topics[alias];
}

/** Decodes a consumed message; never throws, whatever the message holds. */
export function describeMessage(topic: string, partition: number, message: KafkaMessage): TailedMessage {
  const headers = headerStrings(message.headers);
  const value = message.value?.toString() ?? null;
  const timestamp = Number(message.timestamp);
  return {
    topic,
    partition,
    offset: message.offset,
    timestamp: Number.isFinite(timestamp) ? new Date(timestamp).toISOString() : message.timestamp,
    key: message.key?.toString() ?? null,
    value,
    headers,
    decoded: decodeEvent({ value, headers }),
  };
}

/** The card a message is about: the event's subject, or for a message that is not valid, its ce_subject or key. */
export function subjectOf(message: TailedMessage): string | null {
  return message.decoded.ok
    ? message.decoded.event.subject
    : (message.headers[EventHeaders.subject] ?? message.key ?? null);
}

/**
 * A value as one whitespace-free token of a line: as it is when it is plain printable ASCII, else quoted with
 * JSON escapes. Tailed messages come from anyone who can write to the topic, so a newline or a terminal escape in
 * a header must not break the line or reach the operator's terminal.
 */
export function token(value: string | number | null | undefined): string {
  if (value === null || value === undefined) {
    return '-';
  }
  const text = String(value);
  if (/^[\x21-\x7E]+$/.test(text)) {
    return text;
  }
  return JSON.stringify(text).replace(
    /[\u007F-\u009F\u2028\u2029]/g,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/**
 * A validation reason on one line: zod's prettified issues (`✖ message` / `→ at path`, one per line) become
 * `✖ message at path; ✖ …`, then quoted.
 */
export function quotedReason(reason: string): string {
  return JSON.stringify(reason.replace(/\s*\n\s*→\s*/g, ' ').replace(/\s*\n\s*/g, '; '));
}

/**
 * The dlq-* headers as they are shown in a line; the reason last, as it is the longest, and left out when it is the
 * one the line already gives.
 */
function deadLetterSummary(headers: Record<string, string>, shownReason?: string): string[] {
  const source = headers[DeadLetterHeaders.sourceTopic];
  const parts: string[] = [];
  if (headers[DeadLetterHeaders.attempts] !== undefined) {
    parts.push(`dlq-attempts=${token(headers[DeadLetterHeaders.attempts])}`);
  }
  if (headers[DeadLetterHeaders.failedAt] !== undefined) {
    parts.push(`dlq-failed-at=${token(headers[DeadLetterHeaders.failedAt])}`);
  }
  if (source !== undefined) {
    const partition = headers[DeadLetterHeaders.sourcePartition] ?? '?';
    const offset = headers[DeadLetterHeaders.sourceOffset] ?? '?';
    parts.push(`dlq-source=${token(`${source}[${partition}]@${offset}`)}`);
  }
  if (headers[DeadLetterHeaders.consumerGroup] !== undefined) {
    parts.push(`dlq-consumer-group=${token(headers[DeadLetterHeaders.consumerGroup])}`);
  }
  const reason = headers[DeadLetterHeaders.reason];
  if (reason !== undefined && reason !== shownReason) {
    parts.push(`dlq-reason=${quotedReason(reason)}`);
  }
  return parts;
}

/**
 * One line per message: `time  topic[partition]@offset  type  subject  correlation-id  data`. The data is the
 * event's fields but the card id (already the subject) as name=value; a message that fails the contracts reads
 * INVALID, then what its headers claim, then the reason.
 */
export function formatTailLine(message: TailedMessage): string {
  const where = `${message.topic}[${message.partition}]@${message.offset}`;
  if (message.decoded.ok) {
    const deadLetter = deadLetterSummary(message.headers);
    const { event } = message.decoded;
    const data = Object.entries(event.data)
      .filter(([name]) => name !== 'cardId')
      .map(([name, value]) => `${name}=${token(value)}`);
    return [
      message.timestamp,
      where,
      event.type,
      token(event.subject),
      token(event.correlationId),
      [...data, ...deadLetter].join(' '),
    ].join('  ');
  }
  return [
    message.timestamp,
    where,
    'INVALID',
    token(message.headers[EventHeaders.type]),
    token(subjectOf(message)),
    token(message.headers[EventHeaders.correlationId]),
    [
      `reason=${quotedReason(message.decoded.reason)}`,
      ...deadLetterSummary(message.headers, message.decoded.reason),
    ].join(' '),
  ].join('  ');
}

/** One JSON document per message (`--json`): the decoded event, or the reason, headers and value of an invalid one. */
export function tailJson(message: TailedMessage): string {
  const where = {
    topic: message.topic,
    partition: message.partition,
    offset: message.offset,
    timestamp: message.timestamp,
    key: message.key,
  };
  const deadLetterHeaders = Object.entries(message.headers).filter(([name]) => name.startsWith('dlq-'));
  const deadLetter =
    deadLetterHeaders.length > 0 ? { deadLetter: Object.fromEntries(deadLetterHeaders) } : {};
  return JSON.stringify(
    message.decoded.ok
      ? { ...where, valid: true, event: message.decoded.event, ...deadLetter }
      : {
          ...where,
          valid: false,
          reason: message.decoded.reason,
          headers: message.headers,
          value: message.value,
          ...deadLetter,
        },
  );
}

/**
 * `topics tail <topic>`: prints each message of a topic as it arrives, until `signal` aborts (SIGINT/SIGTERM),
 * `max` messages are printed, or none arrives for `idleExitMs`. Reads with a throw-away consumer group that commits
 * nothing and is deleted afterwards, so tailing never moves anyone's offsets. "From the end" means from the end
 * offsets when the command started, so nothing produced while it joins is missed.
 */
export async function tailTopic(options: {
  kafka: Kafka;
  topic: string;
  fromBeginning?: boolean;
  card?: string | undefined;
  json?: boolean;
  max?: number | undefined;
  idleExitMs?: number | undefined;
  signal?: AbortSignal;
  out: Out;
  /** Progress lines (joined, stopped), kept apart from the messages: stderr in the CLI. */
  progress?: Out;
}): Promise<{ printed: number; invalid: number; stoppedBy: TailStop }> {
  const { kafka, topic } = options;
  const progress = options.progress ?? (() => undefined);
  const admin = kafka.admin();
  await admin.connect();
  const groupId = `ops-tail-${randomUUID()}`;
  try {
    if (!(await admin.listTopics()).includes(topic)) {
      throw new Error(`topic ${topic} does not exist`);
    }
    const endOffsets = await admin.fetchTopicOffsets(topic);
    const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100, allowAutoTopicCreation: false });
    const counts = { printed: 0, invalid: 0 };
    // Settled once; `done` turns synchronously, so a message kafkajs hands over after the end is not printed.
    const state = { done: false };
    let settle: { resolve: (reason: TailStop) => void; reject: (error: unknown) => void } | undefined;
    const stopped = new Promise<TailStop>((resolve, reject) => {
      settle = { resolve, reject };
    });
    // Awaited below; a crash before then must not count as an unhandled rejection.
    void stopped.catch(() => undefined);
    const finish = (reason: TailStop): void => {
      if (!state.done) {
        state.done = true;
        settle?.resolve(reason);
      }
    };
    const fail = (error: unknown): void => {
      if (!state.done) {
        state.done = true;
        settle?.reject(error);
      }
    };
    let idleTimer: NodeJS.Timeout | undefined;
    const rearmIdle = (): void => {
      if (options.idleExitMs !== undefined) {
        clearTimeout(idleTimer);
        idleTimer = setTimeout(() => {
          finish('idle');
        }, options.idleExitMs);
      }
    };
    const onAbort = (): void => {
      finish('signal');
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (!payload.restart) {
        fail(payload.error);
      }
    });
    // Nothing is committed, so each time the group is joined (at start, and again after kafkajs restarts the
    // consumer when a broker goes away) the position is set here: where this tail stopped reading, else the end
    // offsets at the start (from the end) or the earliest (from the beginning). A broker restart then neither
    // repeats lines nor loses any.
    const next = new Map<number, bigint>();
    consumer.on(consumer.events.GROUP_JOIN, () => {
      for (const { partition, high } of endOffsets) {
        const offset = next.get(partition) ?? (options.fromBeginning ? undefined : BigInt(high));
        if (offset !== undefined) {
          consumer.seek({ topic, partition, offset: offset.toString() });
        }
      }
    });
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: options.fromBeginning ?? false });
      // run() resolves once the group is joined (and the GROUP_JOIN handler has positioned the partitions).
      await consumer.run({
        autoCommit: false,
        eachMessage: ({ topic: from, partition, message }) => {
          const offset = BigInt(message.offset);
          if (state.done || offset < (next.get(partition) ?? 0n)) {
            return Promise.resolve();
          }
          next.set(partition, offset + 1n);
          rearmIdle();
          const tailed = describeMessage(from, partition, message);
          if (options.card !== undefined && subjectOf(tailed)?.toLowerCase() !== options.card) {
            return Promise.resolve();
          }
          options.out(options.json ? tailJson(tailed) : formatTailLine(tailed));
          counts.printed += 1;
          if (!tailed.decoded.ok) {
            counts.invalid += 1;
          }
          if (options.max !== undefined && counts.printed >= options.max) {
            finish('max');
          }
          return Promise.resolve();
        },
      });
      progress(
        `# following ${topic} (${endOffsets.length} partition(s)) from the ${
          options.fromBeginning ? 'beginning' : 'end'
        }${options.card === undefined ? '' : `, card ${options.card} only`}; Ctrl-C to stop`,
      );
      rearmIdle();
      if (options.signal?.aborted) {
        finish('signal');
      }
      const stoppedBy = await stopped;
      progress(`# stopped (${stoppedBy}): ${counts.printed} message(s) printed, ${counts.invalid} invalid`);
      return { ...counts, stoppedBy };
    } finally {
      clearTimeout(idleTimer);
      options.signal?.removeEventListener('abort', onAbort);
      await consumer.disconnect();
    }
  } finally {
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect();
  }
}
