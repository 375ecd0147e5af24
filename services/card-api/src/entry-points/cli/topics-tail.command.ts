import {
  decodeEvent,
  deadLetterTopic,
  EventHeaders,
  type DecodeResult,
  type TopicNames,
} from '@cards/contracts';
import { DeadLetterHeaders, readTopic, type KafkaClient, type RawMessage } from '@cards/messaging';

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
export function describeMessage(message: RawMessage): TailedMessage {
  const headers = headerStrings(message.headers);
  const value = message.value?.toString() ?? null;
  const timestamp = Number(message.timestamp);
  return {
    topic: message.topic,
    partition: message.partition,
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
 * `max` messages are printed, or none arrives for `idleExitMs`. Reads through the port's throw-away consumer group,
 * so tailing never moves anyone's offsets. "From the end" means from the end offsets when the command started, so
 * nothing produced while it joins is missed.
 */
export async function tailTopic(options: {
  kafka: KafkaClient;
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
  const { topic } = options;
  const progress = options.progress ?? (() => undefined);
  const counts = { printed: 0, invalid: 0 };
  // Every way of stopping aborts the read through this one signal; the first one names the stop.
  const stop = new AbortController();
  let stoppedBy: TailStop = 'signal';
  const stopBy = (reason: TailStop): void => {
    if (!stop.signal.aborted) {
      stoppedBy = reason;
      stop.abort();
    }
  };
  let idleTimer: NodeJS.Timeout | undefined;
  const rearmIdle = (): void => {
    if (options.idleExitMs !== undefined) {
      clearTimeout(idleTimer);
      idleTimer = setTimeout(() => {
        stopBy('idle');
      }, options.idleExitMs);
    }
  };
  const onAbort = (): void => {
    stopBy('signal');
  };
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await readTopic({
      kafka: options.kafka,
      topic,
      from: options.fromBeginning ? 'beginning' : 'end',
      until: 'aborted',
      groupPrefix: 'ops-tail',
      signal: stop.signal,
      onMessage: (message) => {
        rearmIdle();
        const tailed = describeMessage(message);
        if (options.card !== undefined && subjectOf(tailed)?.toLowerCase() !== options.card) {
          return;
        }
        options.out(options.json ? tailJson(tailed) : formatTailLine(tailed));
        counts.printed += 1;
        if (!tailed.decoded.ok) {
          counts.invalid += 1;
        }
        if (options.max !== undefined && counts.printed >= options.max) {
          stopBy('max');
        }
      },
      onReading: ({ partitions }) => {
        progress(
          `# following ${topic} (${partitions} partition(s)) from the ${
            options.fromBeginning ? 'beginning' : 'end'
          }${options.card === undefined ? '' : `, card ${options.card} only`}; Ctrl-C to stop`,
        );
        rearmIdle();
        if (options.signal?.aborted) {
          stopBy('signal');
        }
      },
    });
  } finally {
    clearTimeout(idleTimer);
    options.signal?.removeEventListener('abort', onAbort);
  }
  progress(`# stopped (${stoppedBy}): ${counts.printed} message(s) printed, ${counts.invalid} invalid`);
  return { ...counts, stoppedBy };
}
