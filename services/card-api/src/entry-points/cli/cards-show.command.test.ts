import type { CardRecord } from '../../domain/card';
import { cardsShow, type CardsShowDeps } from './cards-show.command';

const CARD = '0b6f1c9e-5a4e-4d8e-9d7e-2f1a3b4c5d6e';
const at = (seconds: number) => new Date(Date.parse('2026-03-01T10:00:00.000Z') + seconds * 1000);

/** A card that timed out, then got its provider card after all, which compensation cancelled. */
const compensated: CardRecord = {
  id: CARD,
  userId: 'u-1',
  color: 'gold',
  status: 'FAILED',
  providerCardId: 'pc_1',
  last4: null,
  expMonth: null,
  expYear: null,
  failureCode: 'TIMED_OUT',
  failureMessage: 'no result within 120 s',
  correlationId: 'corr-1',
  // Rounded to milliseconds by the database: it may read later than the outbox row written with it.
  createdAt: at(0.001),
  updatedAt: at(9),
  activatedAt: null,
  failedAt: at(3),
  providerCancelRequestedAt: at(5),
  providerCancelledAt: at(8),
};

function deps(card: CardRecord | undefined): CardsShowDeps {
  return {
    findCard: () => Promise.resolve(card),
    findUser: () =>
      Promise.resolve({
        id: 'u-1',
        externalId: 'alice',
        email: 'a@example.com',
        role: 'user',
        createdAt: at(-60),
      }),
    outboxRows: () =>
      Promise.resolve([
        {
          id: '1',
          eventId: 'e-req',
          topic: 'commands',
          type: 'card.provision.requested',
          createdAt: at(0),
          publishedAt: at(1),
          attempts: 0,
          lastError: null,
        },
        {
          id: '2',
          eventId: 'e-cancel',
          topic: 'commands',
          type: 'card.cancel.requested',
          createdAt: at(5),
          publishedAt: null,
          attempts: 2,
          lastError: 'broker down',
        },
      ]),
    inboxRows: () =>
      Promise.resolve([
        { eventId: 'e-prov', type: 'card.provisioned', outcome: 'compensation-requested', receivedAt: at(5) },
        { eventId: 'e-canc', type: 'card.cancelled', outcome: 'provider-cancel-recorded', receivedAt: at(8) },
      ]),
  };
}

describe('cards show', () => {
  it('when a card went through timeout and compensation, then the timeline tells it in order, causes first', async () => {
    const lines: string[] = [];

    const view = await cardsShow({ cardId: CARD, deps: deps(compensated), out: (line) => lines.push(line) });

    expect(view.timeline.map((entry) => `${entry.kind} ${entry.type ?? ''}`.trim())).toEqual([
      'requested',
      'outbox card.provision.requested',
      'published card.provision.requested',
      'failed',
      'result card.provisioned',
      'outbox card.cancel.requested',
      'cancel-requested',
      'result card.cancelled',
      'cancelled',
    ]);
    expect(lines.slice(0, 2)).toEqual([
      `card ${CARD}  FAILED  gold`,
      '  owner             alice (user u-1, user)',
    ]);
    expect(lines).toContain('  failure           TIMED_OUT "no result within 120 s"');
    expect(lines).toContain(
      '  2026-03-01T10:00:05.000Z  outbox            card.cancel.requested written to the outbox ' +
        '(not published yet: 2 failed attempt(s), last error "broker down")  event e-cancel',
    );
  });

  it('when asked for JSON, then one document holds the card and the timeline with ISO times', async () => {
    const lines: string[] = [];

    await cardsShow({ cardId: CARD, deps: deps(compensated), json: true, out: (line) => lines.push(line) });

    expect(lines).toHaveLength(1);
    const document = JSON.parse(lines[0] ?? '') as { card: object; timeline: { at: string; kind: string }[] };
    expect(document.card).toMatchObject({ id: CARD, status: 'FAILED', ownerExternalId: 'alice' });
    expect(document.timeline[0]).toMatchObject({ kind: 'requested', at: '2026-03-01T10:00:00.001Z' });
  });

  it('when the card does not exist, then it fails with one line naming the id', async () => {
    await expect(cardsShow({ cardId: CARD, deps: deps(undefined), out: () => undefined })).rejects.toThrow(
      `card ${CARD} not found`,
    );
  });
});
