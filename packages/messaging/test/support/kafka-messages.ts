import { randomUUID } from 'node:crypto';

import { encodeEvent, EventType, type AnyCardEvent } from '@cards/contracts';
import type { KafkaMessage } from 'kafkajs';

/** A valid event of ours for a card; two with the same card id share a Kafka key. */
export function cardEvent(cardId: string = randomUUID()): AnyCardEvent {
  return {
    id: randomUUID(),
    type: EventType.cancelled,
    source: 'test',
    time: new Date().toISOString(),
    subject: cardId,
    data: { cardId, providerCardId: `pc_${cardId}` },
  };
}

/** `event` as kafkajs hands it to a consumer, at `offset`. */
export function kafkaMessage(offset: number, event: AnyCardEvent): KafkaMessage {
  const encoded = encodeEvent(event);
  return {
    offset: String(offset),
    key: Buffer.from(encoded.key),
    value: Buffer.from(encoded.value),
    headers: encoded.headers,
    timestamp: String(Date.now()),
    attributes: 0,
  };
}
