import { randomUUID } from 'node:crypto';

import { EventType, type AnyCardEvent, type ProviderCard } from '@cards/contracts';

import { reconcile, type LocalCard, type ReconcileDeps, type ReconcileTransaction } from './reconcile';

const window = { from: new Date('2026-01-01T00:00:00.000Z'), to: new Date('2026-01-02T00:00:00.000Z') };

function buildProviderCard(overrides: Partial<ProviderCard> = {}): ProviderCard {
  return {
    id: `pc_${randomUUID()}`,
    reference: randomUUID(),
    color: 'gold',
    cardholderRef: randomUUID(),
    status: 'ACTIVE',
    last4: '4242',
    expMonth: 9,
    expYear: 2030,
    createdAt: '2026-01-01T12:00:00.000Z',
    cancelledAt: null,
    ...overrides,
  };
}

/** An in-memory world: the provider's cards, ours, the outbox and the reconciliation lock. */
class World {
  readonly provider: ProviderCard[] = [];
  readonly local = new Map<string, LocalCard>();
  readonly outbox: AnyCardEvent[] = [];
  readonly cancelRequestedMarks: string[] = [];
  lockHeld = false;
  listCalls: { createdFrom: Date; createdTo: Date; limit: number }[] = [];
  outboxHints = 0;
  transactions = 0;

  /** A provider card and our matching ACTIVE card. */
  matchedPair(): ProviderCard {
    const card = buildProviderCard();
    this.provider.push(card);
    this.local.set(card.reference, { id: card.reference, status: 'ACTIVE', providerCardId: card.id });
    return card;
  }

  deps(overrides: Partial<ReconcileDeps> = {}): ReconcileDeps {
    return {
      provider: {
        listCards: (filter) => {
          this.listCalls.push(filter);
          const page = this.provider
            .filter((card) => {
              const at = Date.parse(card.createdAt);
              return at >= filter.createdFrom.getTime() && at < filter.createdTo.getTime();
            })
            .sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt))
            .slice(0, filter.limit);
          return Promise.resolve(page);
        },
        findCard: (id) => Promise.resolve(this.provider.find((card) => card.id === id)),
      },
      findLocalCards: (ids) =>
        Promise.resolve(ids.flatMap((id) => (this.local.has(id) ? [this.local.get(id)!] : []))),
      listActiveLocalCards: () =>
        Promise.resolve([...this.local.values()].filter((card) => card.status === 'ACTIVE')),
      transaction: async <T>(work: (tx: ReconcileTransaction) => Promise<T>): Promise<T> => {
        this.transactions += 1;
        const written: AnyCardEvent[] = [];
        const result = await work({
          tryLock: () => Promise.resolve(!this.lockHeld),
          lastCancelRequests: (ids) =>
            Promise.resolve(
              new Map(
                this.outbox.flatMap((event) =>
                  event.type === EventType.cancelRequested && ids.includes(event.data.providerCardId)
                    ? [[event.data.providerCardId, new Date(event.time)] as const]
                    : [],
                ),
              ),
            ),
          markProviderCancelRequested: (cardId) => {
            this.cancelRequestedMarks.push(cardId);
            return Promise.resolve();
          },
          appendOutbox: (events) => {
            written.push(...events);
            return Promise.resolve();
          },
        });
        this.outbox.push(...written);
        return result;
      },
      outboxWritten: () => {
        this.outboxHints += 1;
      },
      ...overrides,
    };
  }

  cancels(): { cardId: string; providerCardId: string }[] {
    return this.outbox.flatMap((event) =>
      event.type === EventType.cancelRequested
        ? [{ cardId: event.data.cardId, providerCardId: event.data.providerCardId }]
        : [],
    );
  }
}

describe('reconcile', () => {
  it('when both sides agree, then nothing differs and nothing is written', async () => {
    const world = new World();
    world.matchedPair();
    world.matchedPair();

    const report = await reconcile(window, world.deps());

    expect(report).toMatchObject({
      examined: { providerCards: 2, localCards: 2 },
      matched: 2,
      inFlight: 0,
      differences: [],
      dryRun: false,
      window: { from: window.from.toISOString(), to: window.to.toISOString() },
    });
    expect(world.transactions).toBe(0);
    expect(world.outboxHints).toBe(0);
  });

  it('when a provider card is ACTIVE and our card FAILED, then a cancel is requested through the outbox and marked on the card', async () => {
    const world = new World();
    const card = buildProviderCard();
    world.provider.push(card);
    world.local.set(card.reference, { id: card.reference, status: 'FAILED', providerCardId: null });

    const report = await reconcile(window, world.deps());

    expect(report.differences).toEqual([
      {
        kind: 'local-card-failed',
        cardId: card.reference,
        providerCardId: card.id,
        localStatus: 'FAILED',
        providerStatus: 'ACTIVE',
        action: 'cancel-requested',
      },
    ]);
    expect(report.actions['cancel-requested']).toBe(1);
    const [event] = world.outbox;
    expect(event).toMatchObject({
      type: EventType.cancelRequested,
      source: 'card-api',
      subject: card.reference,
      correlationId: `reconciliation-${report.runId}`,
      data: { cardId: card.reference, providerCardId: card.id },
    });
    expect(event?.type === EventType.cancelRequested && event.data.reason).toContain('FAILED');
    expect(world.cancelRequestedMarks).toEqual([card.reference]);
    expect(world.outboxHints).toBe(1);
  });

  it('when a provider card is ACTIVE and no card of ours has its reference, then a cancel is requested', async () => {
    const world = new World();
    const card = buildProviderCard();
    world.provider.push(card);

    const report = await reconcile(window, world.deps());

    expect(report.differences).toMatchObject([
      { kind: 'local-card-missing', localStatus: 'MISSING', action: 'cancel-requested' },
    ]);
    expect(world.cancels()).toEqual([{ cardId: card.reference, providerCardId: card.id }]);
    expect(world.cancelRequestedMarks).toEqual([]);
  });

  it('when our card is ACTIVE with another provider card, then the surplus one is cancelled and ours keeps its own', async () => {
    const world = new World();
    const kept = world.matchedPair();
    const surplus = buildProviderCard({ reference: kept.reference });
    world.provider.push(surplus);

    const report = await reconcile(window, world.deps());

    expect(report.matched).toBe(1);
    expect(report.differences).toMatchObject([
      {
        kind: 'local-card-holds-another-provider-card',
        providerCardId: surplus.id,
        action: 'cancel-requested',
      },
    ]);
    expect(world.cancels()).toEqual([{ cardId: kept.reference, providerCardId: surplus.id }]);
    expect(world.cancelRequestedMarks).toEqual([]);
  });

  it('when our card is still PENDING, then it counts as in flight and nothing is done', async () => {
    const world = new World();
    const card = buildProviderCard();
    world.provider.push(card);
    world.local.set(card.reference, { id: card.reference, status: 'PENDING', providerCardId: null });

    const report = await reconcile(window, world.deps());

    expect(report).toMatchObject({ inFlight: 1, differences: [] });
    expect(world.outbox).toEqual([]);
  });

  it('when our ACTIVE card’s provider card is cancelled or missing, then it is reported and nothing is written', async () => {
    const world = new World();
    const cancelled = world.matchedPair();
    Object.assign(cancelled, { status: 'CANCELLED', cancelledAt: '2026-01-01T13:00:00.000Z' });
    const missingId = randomUUID();
    world.local.set(missingId, { id: missingId, status: 'ACTIVE', providerCardId: 'pc_gone' });

    const report = await reconcile(window, world.deps());

    expect(report.differences).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          kind: 'provider-card-cancelled',
          cardId: cancelled.reference,
          action: 'reported',
        }),
        expect.objectContaining({
          kind: 'provider-card-missing',
          cardId: missingId,
          providerCardId: 'pc_gone',
          providerStatus: 'MISSING',
          action: 'reported',
        }),
      ]),
    );
    expect(report.actions).toMatchObject({ reported: 2, 'cancel-requested': 0 });
    expect(world.transactions).toBe(0);
  });

  it('when our ACTIVE card’s provider card was created after the window, then it is found by id and not reported', async () => {
    const world = new World();
    const late = world.matchedPair();
    late.createdAt = '2026-01-02T00:00:00.001Z';

    const report = await reconcile(window, world.deps());

    expect(report.differences).toEqual([]);
  });

  it('when it runs twice, then the second run finds the cancel already requested and writes nothing', async () => {
    const world = new World();
    const card = buildProviderCard();
    world.provider.push(card);

    await reconcile(window, world.deps());
    const second = await reconcile(window, world.deps());

    expect(second.differences).toMatchObject([{ action: 'cancel-already-requested' }]);
    expect(world.cancels()).toHaveLength(1);
    expect(world.outboxHints).toBe(1);
  });

  it('when a provider card is still ACTIVE long after its cancel was requested, then the cancel is requested again', async () => {
    const world = new World();
    const card = buildProviderCard();
    world.provider.push(card);
    const firstRunAt = new Date('2026-01-02T00:00:00.000Z');
    await reconcile(window, world.deps({ now: () => firstRunAt }));

    const muchLater = new Date(firstRunAt.getTime() + 31 * 60_000);
    const second = await reconcile(
      window,
      world.deps({ now: () => muchLater, recancelAfterMs: 30 * 60_000 }),
    );

    expect(second.differences).toMatchObject([{ providerCardId: card.id, action: 'cancel-requested-again' }]);
    expect(world.cancels()).toEqual([
      { cardId: card.reference, providerCardId: card.id },
      { cardId: card.reference, providerCardId: card.id },
    ]);
  });

  it('when the provider list fails midway through the pages, then the pages read are repaired and the report says what was not covered', async () => {
    const world = new World();
    const newest = buildProviderCard({ createdAt: '2026-01-01T20:00:00.000Z' });
    const older = buildProviderCard({ createdAt: '2026-01-01T10:00:00.000Z' });
    world.provider.push(newest, buildProviderCard({ createdAt: '2026-01-01T19:00:00.000Z' }), older);
    const deps = world.deps({ pageSize: 2 });
    const list = deps.provider.listCards.bind(deps.provider);
    deps.provider.listCards = (filter) =>
      world.listCalls.length >= 1 ? Promise.reject(new Error('provider gave up: HTTP 503')) : list(filter);

    const report = await reconcile(window, deps);

    expect(report.complete).toBe(false);
    expect(report.incompleteReason).toContain('HTTP 503');
    expect(report.covered.to).toBe(window.to.toISOString());
    expect(Date.parse(report.covered.from)).toBeGreaterThan(Date.parse(older.createdAt));
    expect(world.cancels().map((cancel) => cancel.providerCardId)).toContain(newest.id);
    expect(world.cancels().map((cancel) => cancel.providerCardId)).not.toContain(older.id);
  });

  it('when a local ACTIVE card’s provider card cannot be looked up, then it is left unverified, not reported missing', async () => {
    const world = new World();
    world.local.set('local-1', { id: 'local-1', status: 'ACTIVE', providerCardId: 'pc_elsewhere' });
    const deps = world.deps();
    deps.provider.findCard = () => Promise.reject(new Error('provider gave up: timeout'));

    const report = await reconcile(window, deps);

    expect(report.differences).toEqual([]);
    expect(report.complete).toBe(false);
    expect(report.unverified).toEqual([{ cardId: 'local-1', providerCardId: 'pc_elsewhere' }]);
  });

  it('when everything was read, then the report is complete and covers the whole window', async () => {
    const world = new World();
    world.matchedPair();

    const report = await reconcile(window, world.deps());

    expect(report).toMatchObject({
      complete: true,
      covered: { from: window.from.toISOString(), to: window.to.toISOString() },
      unverified: [],
    });
  });

  it('when another run holds the lock, then this run writes nothing and says so', async () => {
    const world = new World();
    world.provider.push(buildProviderCard());
    world.lockHeld = true;

    const report = await reconcile(window, world.deps());

    expect(report.differences).toMatchObject([{ action: 'skipped-another-run-is-repairing' }]);
    expect(world.outbox).toEqual([]);
    expect(world.outboxHints).toBe(0);
  });

  it('when it is a dry run, then differences are reported as would-request-cancel and nothing is written', async () => {
    const world = new World();
    world.provider.push(buildProviderCard());

    const report = await reconcile(window, world.deps({ dryRun: true }));

    expect(report).toMatchObject({ dryRun: true, differences: [{ action: 'would-request-cancel' }] });
    expect(world.transactions).toBe(0);
  });

  it('when the provider has more cards than a page, then every page is read (overlapping milliseconds deduplicated)', async () => {
    const world = new World();
    const times = ['01', '02', '02', '03', '04', '05'].map((minute) => `2026-01-01T10:${minute}:00.000Z`);
    for (const createdAt of times) {
      world.provider.push(buildProviderCard({ createdAt }));
    }

    const report = await reconcile(window, world.deps({ pageSize: 3 }));

    expect(report.examined.providerCards).toBe(6);
    expect(report.differences).toHaveLength(6);
    expect(world.cancels()).toHaveLength(6);
    expect(world.listCalls).toHaveLength(4);
  });

  it('when more cards than a page share one millisecond, then it fails rather than loop or skip cards', async () => {
    const world = new World();
    for (let i = 0; i < 3; i++) {
      world.provider.push(buildProviderCard({ createdAt: '2026-01-01T10:00:00.000Z' }));
    }

    await expect(reconcile(window, world.deps({ pageSize: 2 }))).rejects.toThrow(/one millisecond/);
  });

  it('when the window is empty or reversed, then it is refused', async () => {
    const world = new World();

    await expect(reconcile({ from: window.to, to: window.from }, world.deps())).rejects.toThrow(/from < to/);
  });
});
