import { randomUUID } from 'node:crypto';

import { EventType, type AnyCardEvent } from '@cards/contracts';
import type { EventPublisher } from '@cards/messaging';

/** A provision command for card `key`: the relay only cares about its key and its outbox id. */
export function buildCommand(key: string): AnyCardEvent {
  return {
    id: randomUUID(),
    type: EventType.provisionRequested,
    source: 'card-api',
    time: new Date().toISOString(),
    subject: key,
    data: { cardId: key, color: 'gold', cardholderRef: randomUUID(), requestedAt: new Date().toISOString() },
  };
}

/**
 * Sends through the real publisher after a hook of the test's (which may write rows, or throw to fail the send), so
 * each batch stays in flight long enough for the relay to read the next one and mark the previous one meanwhile.
 */
export class ScriptedPublisher implements EventPublisher {
  calls = 0;
  private sending = 0;
  /** Most sends ever in flight at once: the relay must never exceed one. */
  maxConcurrent = 0;

  constructor(
    private readonly inner: EventPublisher,
    private readonly hook: (call: number) => Promise<void>,
  ) {}

  async publish(events: readonly AnyCardEvent[]): Promise<void> {
    const call = ++this.calls;
    this.sending++;
    this.maxConcurrent = Math.max(this.maxConcurrent, this.sending);
    try {
      await this.hook(call);
      await this.inner.publish(events);
    } finally {
      this.sending--;
    }
  }
}
