import { randomUUID } from 'node:crypto';

import { EventType, type AnyCardEvent } from '@cards/contracts';

/** A valid `card.provisioned` result for `cardId`, as a worker publishes it; each call a new event id. */
export function provisionedEvent(
  cardId: string = randomUUID(),
  providerCardId = `pc_${randomUUID()}`,
): AnyCardEvent {
  return {
    id: randomUUID(),
    type: EventType.provisioned,
    source: 'test',
    time: new Date().toISOString(),
    subject: cardId,
    data: { cardId, providerCardId, last4: '4242', expMonth: 9, expYear: 2029 },
  };
}
