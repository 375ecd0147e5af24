import { createHash } from 'node:crypto';

import type { CardEvent, EventData, EventType } from '@cards/contracts';

/** Who produced an event (CloudEvents `source`). */
export const EVENT_SOURCE = 'provider-worker';

/**
 * The id of the result a command leads to: a UUID (version 8, "custom") from a SHA-256 of the command's id and the
 * result type. A redelivered command yields a result with the same id, so card-api's inbox sees a duplicate, not a
 * new event.
 */
export function resultEventId(commandId: string, resultType: EventType): string {
  const bytes = createHash('sha256').update(`${commandId}:${resultType}`).digest().subarray(0, 16);
  // RFC 9562: the high nibble of byte 6 is the version, the two high bits of byte 8 the variant (10).
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x80;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Builds the result of a command: the same card as subject, the command's correlation id and trace, a derived id. */
export function resultEvent<T extends EventType>(
  command: CardEvent,
  type: T,
  data: EventData<T>,
  now: Date,
): CardEvent<T> {
  return {
    id: resultEventId(command.id, type),
    type,
    source: EVENT_SOURCE,
    time: now.toISOString(),
    subject: command.data.cardId,
    ...(command.correlationId !== undefined && { correlationId: command.correlationId }),
    ...(command.traceparent !== undefined && { traceparent: command.traceparent }),
    data,
  };
}
