import { EventType } from '@cards/contracts';

import type { CardRecord } from './card';
import { sagaTimeline, type TimelineInboxRow, type TimelineOutboxRow } from './card-timeline';

const at = (seconds: number) => new Date(Date.parse('2026-03-01T10:00:00.000Z') + seconds * 1000);

function buildCard(overrides: Partial<CardRecord> = {}): CardRecord {
  return {
    id: '0b6f1c9e-5a4e-4d8e-9d7e-2f1a3b4c5d6e',
    userId: 'u-1',
    color: 'gold',
    status: 'PENDING',
    providerCardId: null,
    last4: null,
    expMonth: null,
    expYear: null,
    failureCode: null,
    failureMessage: null,
    correlationId: 'req-1',
    createdAt: at(0),
    updatedAt: at(0),
    activatedAt: null,
    failedAt: null,
    providerCancelRequestedAt: null,
    providerCancelledAt: null,
    ...overrides,
  };
}

const requestRow: TimelineOutboxRow = {
  id: '1',
  eventId: 'e-req',
  topic: 'commands',
  type: EventType.provisionRequested,
  createdAt: at(0),
  publishedAt: at(1),
  attempts: 0,
  lastError: null,
};

describe('sagaTimeline', () => {
  it('when a card was provisioned, then the provider answer comes at its time, before the result and ACTIVE', () => {
    const card = buildCard({
      status: 'ACTIVE',
      providerCardId: 'pc_1',
      last4: '4242',
      expMonth: 9,
      expYear: 2030,
      activatedAt: at(4),
    });
    const inbox: TimelineInboxRow[] = [
      {
        eventId: 'e-prov',
        type: EventType.provisioned,
        outcome: 'activated',
        receivedAt: at(4),
        occurredAt: at(3),
        attempts: 3,
        detail: { providerCardId: 'pc_1' },
      },
    ];

    const timeline = sagaTimeline(card, [requestRow], inbox);

    expect(timeline.map(({ at: time, kind, summary }) => [time.toISOString(), kind, summary])).toEqual([
      [at(0).toISOString(), 'requested', 'card requested: PENDING, gold'],
      [at(0).toISOString(), 'outbox', 'card.provision.requested written to the outbox'],
      [at(1).toISOString(), 'published', 'card.provision.requested published to commands'],
      [at(3).toISOString(), 'provider', 'provider call succeeded after 3 attempt(s): provider card pc_1'],
      [at(4).toISOString(), 'result', 'card.provisioned received: activated'],
      [at(4).toISOString(), 'activated', 'ACTIVE: last4 4242, expires 09/2030, provider card pc_1'],
    ]);
    expect(timeline[0]?.requestId).toBe('req-1');
  });

  it('when the provider refused after retries, then the timeline says so with the code, message and attempts', () => {
    const card = buildCard({
      status: 'FAILED',
      failureCode: 'PROVIDER_REJECTED',
      failureMessage: 'no',
      failedAt: at(5),
    });
    const inbox: TimelineInboxRow[] = [
      {
        eventId: 'e-fail',
        type: EventType.provisioningFailed,
        outcome: 'failed',
        receivedAt: at(5),
        occurredAt: at(5),
        attempts: 2,
        detail: { code: 'PROVIDER_REJECTED', message: 'no' },
      },
    ];

    const timeline = sagaTimeline(card, [{ ...requestRow, attempts: 2 }], inbox);

    expect(timeline.slice(2).map((entry) => `${entry.kind}: ${entry.summary}`)).toEqual([
      'published: card.provision.requested published to commands after 2 failed attempt(s)',
      'provider: provider call failed after 2 attempt(s): PROVIDER_REJECTED "no"',
      'result: card.provisioning.failed received: failed',
      'failed: FAILED: PROVIDER_REJECTED "no"',
    ]);
  });

  it('when inbox rows predate the provider columns, then they still render, without a provider step', () => {
    const card = buildCard({ correlationId: null });

    const timeline = sagaTimeline(
      card,
      [],
      [{ eventId: 'e-old', type: EventType.provisioned, outcome: 'ignored-not-pending', receivedAt: at(2) }],
    );

    expect(timeline.map((entry) => entry.kind)).toEqual(['requested', 'result']);
    expect(timeline[0]).not.toHaveProperty('requestId');
  });

  it('when a late success was compensated, then the provider cancel shows at its time and the compensation in order', () => {
    const card = buildCard({
      status: 'FAILED',
      providerCardId: 'pc_late',
      failureCode: 'TIMED_OUT',
      failureMessage: 'no result',
      failedAt: at(2),
      providerCancelRequestedAt: at(6),
      providerCancelledAt: at(9),
    });
    const inbox: TimelineInboxRow[] = [
      {
        eventId: 'e-prov',
        type: EventType.provisioned,
        outcome: 'compensation-requested',
        receivedAt: at(6),
        occurredAt: at(5),
        attempts: null,
        detail: { providerCardId: 'pc_late' },
      },
      {
        eventId: 'e-canc',
        type: EventType.cancelled,
        outcome: 'provider-cancel-recorded',
        receivedAt: at(9),
        occurredAt: at(8),
        detail: { providerCardId: 'pc_late' },
      },
    ];

    const timeline = sagaTimeline(card, [requestRow], inbox);

    expect(timeline.map((entry) => entry.kind)).toEqual([
      'requested',
      'outbox',
      'published',
      'failed',
      'provider',
      'result',
      'cancel-requested',
      'provider',
      'result',
      'cancelled',
    ]);
    expect(timeline[4]?.summary).toBe('provider call succeeded: provider card pc_late');
    expect(timeline[7]?.summary).toBe('provider cancelled its card pc_late');
  });
});
