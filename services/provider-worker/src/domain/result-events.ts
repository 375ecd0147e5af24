import { createHash } from 'node:crypto';

import { EventType, type CardEvent, type EventData } from '@cards/contracts';

/** Who produced an event (CloudEvents `source`). */
export const EVENT_SOURCE = 'provider-worker';

/**
 * The id of the result a command leads to: a UUID (version 8, "custom") from a SHA-256 of the command's id, the
 * result type and the provider card the result names, if any. A redelivered command that meets the same provider
 * card yields a result with the same id, so card-api's inbox sees a duplicate, not a new event; one that meets
 * another provider card (a provider that issued twice) yields a new id, so that card is compensated rather than
 * dropped as a duplicate. Other results (failures, cancellations) keep the id they had before it was in the hash.
 */
export function resultEventId(commandId: string, resultType: EventType, providerCardId?: string): string {
  const input =
    providerCardId === undefined
      ? `${commandId}:${resultType}`
      : `${commandId}:${resultType}:${providerCardId}`;
  const bytes = createHash('sha256').update(input).digest().subarray(0, 16);
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
  // Only a provisioning result names a provider card its command did not: a cancel command names its own.
  const providerCardId =
    type === EventType.provisioned && 'providerCardId' in data && typeof data.providerCardId === 'string'
      ? data.providerCardId
      : undefined;
  return {
    id: resultEventId(command.id, type, providerCardId),
    type,
    source: EVENT_SOURCE,
    time: now.toISOString(),
    subject: command.data.cardId,
    ...(command.correlationId !== undefined && { correlationId: command.correlationId }),
    ...(command.traceparent !== undefined && { traceparent: command.traceparent }),
    data,
  };
}
