import { deadLetterTopic, EventHeaders } from '@cards/contracts';
import type { IHeaders, KafkaMessage } from 'kafkajs';
import type { Logger } from 'pino';

import type { KafkaEventPublisher } from './publisher';

/** Headers added to a dead letter, so an operator sees why, where and after how many attempts. */
export const DeadLetterHeaders = {
  reason: 'dlq-reason',
  sourceTopic: 'dlq-source-topic',
  sourcePartition: 'dlq-source-partition',
  sourceOffset: 'dlq-source-offset',
  consumerGroup: 'dlq-consumer-group',
  attempts: 'dlq-attempts',
  failedAt: 'dlq-failed-at',
} as const;

/** What a consumer needs to dead-letter a message; KafkaEventPublisher is one. */
export type DeadLetterPublisher = Pick<KafkaEventPublisher, 'connect' | 'sendRaw'>;

/** Where a message that is being dead-lettered was consumed, and after how many attempts. */
export interface DeadLetterOrigin {
  topic: string;
  partition: number;
  offset: string;
  attempt: number;
}

/**
 * Writes `message` to `<topic>.dlq` as it was, with headers that say why, where and after how many attempts;
 * resolves once Kafka has it.
 */
export async function writeDeadLetter(options: {
  publisher: DeadLetterPublisher;
  groupId: string;
  message: KafkaMessage;
  origin: DeadLetterOrigin;
  reason: string;
  logger: Logger;
}): Promise<void> {
  const { message, origin, reason } = options;
  await options.publisher.sendRaw([
    {
      topic: deadLetterTopic(origin.topic),
      messages: [
        {
          // The original bytes, not a decoding of them: a message that is not UTF-8 stays exactly as it was (and
          // does not grow past the broker's size limit by being re-encoded).
          key: message.key ?? null,
          value: message.value ?? null,
          headers: {
            ...message.headers,
            [DeadLetterHeaders.reason]: reason.slice(0, 2000),
            [DeadLetterHeaders.sourceTopic]: origin.topic,
            [DeadLetterHeaders.sourcePartition]: String(origin.partition),
            [DeadLetterHeaders.sourceOffset]: origin.offset,
            [DeadLetterHeaders.consumerGroup]: options.groupId,
            [DeadLetterHeaders.attempts]: String(origin.attempt),
            [DeadLetterHeaders.failedAt]: new Date().toISOString(),
          },
        },
      ],
    },
  ]);
  const correlationId = message.headers?.[EventHeaders.correlationId]?.toString();
  options.logger.warn(
    { ...origin, reason, key: message.key?.toString(), correlationId },
    'message dead-lettered',
  );
}

/** Kafka headers as strings (the first value of a repeated header), for decoding. */
export function headersToStrings(headers: IHeaders | undefined): Record<string, string | undefined> {
  const result: Record<string, string | undefined> = {};
  // kafkajs hands a header sent without a value over as null, whatever its types say: such a header is absent.
  for (const [name, value] of Object.entries(headers ?? {}) as [string, IHeaders[string] | null][]) {
    const first = Array.isArray(value) ? value[0] : value;
    if (first === undefined || first === null) {
      continue;
    }
    result[name] = first.toString();
  }
  return result;
}
