import { deadLetterTopic, EventHeaders } from '@cards/contracts';
import {
  DeadLetterHeaders,
  KafkaEventPublisher,
  readTopic,
  type KafkaClient,
  type RawHeaders,
  type RawMessage,
} from '@cards/messaging';

import {
  selectDeadLetters,
  type DeadLetterRef,
  type ReplayOutcome,
  type ReplaySelection,
} from '../domain/replay-dead-letters';

/** One message of a dead-letter topic, with the attributes an operator needs to decide about it. */
export interface DeadLetter extends DeadLetterRef {
  /** The dead-letter topic it was read from. */
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  value: string | null;
  /** Every header as it arrived (the original's and the dlq-* ones), for a faithful replay. */
  rawHeaders: RawHeaders;
  /** The same headers as strings (first value of a repeated header). */
  headers: Record<string, string>;
  ceId: string | null;
  ceType: string | null;
  reason: string | null;
  attempts: string | null;
  failedAt: string | null;
}

/** What an operator is shown of a dead letter: why it failed and where it is, never its value (it may hold card data). */
export function deadLetterSummary(letter: DeadLetter) {
  return {
    topic: letter.topic,
    partition: letter.partition,
    offset: letter.offset,
    key: letter.key,
    ceId: letter.ceId,
    ceType: letter.ceType,
    reason: letter.reason,
    attempts: letter.attempts,
    failedAt: letter.failedAt,
  };
}

/** Accepts the main topic (`x`) or its dead-letter topic (`x.dlq`); returns both names. */
export function topicPair(topic: string): { topic: string; dlq: string } {
  const suffix = deadLetterTopic('');
  if (topic.endsWith(suffix)) {
    return { topic: topic.slice(0, -suffix.length), dlq: topic };
  }
  return { topic, dlq: deadLetterTopic(topic) };
}

/** A message's headers as shown to an operator: those with a value (the port gives the first of a repeated one). */
export function headerStrings(headers: RawMessage['headers']): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) {
      result[name] = value;
    }
  }
  return result;
}

/** Whether a header was added by dead-lettering (dlq-*), and so is dropped on replay. */
export function isDeadLetterHeader(name: string): boolean {
  return (Object.values(DeadLetterHeaders) as string[]).includes(name) || name.startsWith('dlq-');
}

/**
 * Reads a dead-letter topic from its beginning up to the end offsets it had when the read began, then stops; the
 * port's throw-away consumer group never moves anyone's offsets.
 */
export async function readDeadLetters(
  kafka: KafkaClient,
  topic: string,
  options: { timeoutMs?: number } = {},
): Promise<DeadLetter[]> {
  const { dlq } = topicPair(topic);
  const letters: DeadLetter[] = [];
  await readTopic({
    kafka,
    topic: dlq,
    from: 'beginning',
    until: 'end',
    groupPrefix: 'ops-dlq-reader',
    ...(options.timeoutMs !== undefined && { timeoutMs: options.timeoutMs }),
    onMessage: (message) => {
      const headers = headerStrings(message.headers);
      letters.push({
        topic: dlq,
        partition: message.partition,
        offset: message.offset,
        key: message.key?.toString() ?? null,
        value: message.value?.toString() ?? null,
        rawHeaders: message.rawHeaders,
        headers,
        ceId: headers[EventHeaders.id] ?? null,
        ceType: headers[EventHeaders.type] ?? null,
        reason: headers[DeadLetterHeaders.reason] ?? null,
        attempts: headers[DeadLetterHeaders.attempts] ?? null,
        failedAt: headers[DeadLetterHeaders.failedAt] ?? null,
      });
    },
  });
  return letters.sort((a, b) => a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset)));
}

/**
 * Re-publishes the chosen dead letters of `<topic>.dlq` to `<topic>` as they first arrived (value, key and original
 * headers, the dlq-* ones removed), in their order; returns them. Safe because every consumer is idempotent (inbox
 * table, provider idempotency key): a replayed event already applied changes nothing.
 */
export async function republishDeadLetters(options: {
  kafka: KafkaClient;
  topic: string;
  selection: ReplaySelection;
  publisher?: KafkaEventPublisher;
  timeoutMs?: number;
}): Promise<ReplayOutcome<DeadLetter>> {
  const { topic, dlq } = topicPair(options.topic);
  const letters = await readDeadLetters(options.kafka, dlq, {
    ...(options.timeoutMs !== undefined && { timeoutMs: options.timeoutMs }),
  });
  return sendBack({ ...options, topic, dlq, letters: selectDeadLetters(letters, options.selection, dlq) });
}

/**
 * Re-publishes `letters`, already read from `dlq`, to `topic` as they first arrived (value, key, original headers
 * without the dlq-* ones), in their order.
 */
export async function sendBack(options: {
  kafka: KafkaClient;
  topic: string;
  dlq: string;
  letters: DeadLetter[];
  publisher?: KafkaEventPublisher;
}): Promise<ReplayOutcome<DeadLetter>> {
  const { topic, dlq, letters } = options;
  if (letters.length === 0) {
    return { topic, dlq, replayed: [] };
  }
  const publisher = options.publisher ?? new KafkaEventPublisher(options.kafka);
  try {
    await publisher.sendRaw([
      {
        topic,
        messages: letters.map((letter) => ({
          key: letter.key,
          value: letter.value,
          headers: Object.fromEntries(
            Object.entries(letter.rawHeaders).filter(([name]) => !isDeadLetterHeader(name)),
          ),
        })),
      },
    ]);
  } finally {
    if (!options.publisher) {
      await publisher.disconnect();
    }
  }
  return { topic, dlq, replayed: letters };
}
