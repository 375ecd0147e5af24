import { randomUUID } from 'node:crypto';

import {
  CardSchema,
  EventType,
  ProviderCardListSchema,
  ProviderCardSchema,
  type Card,
} from '@cards/contracts';
import { createLogger } from '@cards/runtime';
import { eventually } from '@cards/test-support';

import { topicNames } from '../../src/config';
import { RECONCILIATION_LOCK_KEY } from '../../src/data-access/reconciliation.repository';
import { reconcile, type ReconciliationReport } from '../../src/domain/reconcile';
import { reconciliationDeps, startReconciliationJob } from '../../src/entry-points/jobs/reconciliation';
import { runOps } from '../../src/main-ops';
import { buildCardRequest } from '../support/card-api';
import { startSaga, type SagaHarness } from '../support/saga';

describe('reconciliation with the provider, across real processes', () => {
  let saga: SagaHarness;
  let token: string;
  let userId: string;

  beforeAll(async () => {
    // Scheduled runs are off here: each test runs reconciliation itself (the job has a test of its own below).
    saga = await startSaga('reconciliation', { cardApi: { RECONCILIATION_INTERVAL_MS: '0' } });
    ({ token, id: userId } = await saga.createUser());
  }, 90_000);

  afterAll(() => saga.stop());

  const lastHour = () => ({ from: new Date(Date.now() - 3_600_000), to: new Date() });

  function deps(options: { dryRun?: boolean } = {}) {
    return reconciliationDeps({
      db: saga.db,
      topics: topicNames(saga.config),
      providerUrl: saga.providerUrl,
      // The relay's polling fallback picks the rows up; no NOTIFY needed in the test.
      outboxWritten: () => undefined,
      ...options,
    });
  }

  async function activeCard(): Promise<Card> {
    const response = await saga.request('/v1/cards', { method: 'POST', token, body: buildCardRequest() });
    const card = CardSchema.parse(await response.json());
    return eventually(
      async () => {
        const polled = await saga.request(`/v1/cards/${card.id}`, { token, headers: { prefer: 'wait=5' } });
        const current = CardSchema.parse(await polled.json());
        expect(current.status).toBe('ACTIVE');
        return current;
      },
      { timeoutMs: 30_000 },
    );
  }

  /** A provider card no card of ours asked for (as from another environment, or a lost database row). */
  async function orphanProviderCard() {
    const reference = randomUUID();
    const response = await fetch(`${saga.providerUrl}/v1/cards`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': reference },
      body: JSON.stringify({ reference, color: 'pink', cardholderRef: randomUUID() }),
    });
    expect(response.status).toBe(201);
    return ProviderCardSchema.parse(await response.json());
  }

  async function providerCard(cardId: string) {
    const response = await fetch(`${saga.providerUrl}/v1/cards?reference=${cardId}`);
    const [card, ...others] = ProviderCardListSchema.parse(await response.json()).data;
    expect(others).toEqual([]);
    return card!;
  }

  async function cancelRows(providerCardId: string): Promise<number> {
    const rows = await saga
      .db('outbox')
      .where({ type: EventType.cancelRequested })
      .whereRaw(/* sql */ "event -> 'data' ->> 'providerCardId' = ?", [providerCardId])
      .count<{ count: string }[]>({ count: '*' });
    return Number(rows[0]?.count ?? 0);
  }

  const about = (report: ReconciliationReport, cardId: string) =>
    report.differences.filter((difference) => difference.cardId === cardId);

  it('when our card FAILED while the provider card is ACTIVE, then a cancel goes through the saga and is recorded on the card', async () => {
    const card = await activeCard();
    const issued = await providerCard(card.id);
    // The drift reconciliation exists for: the worker gave up, yet the provider issued the card.
    await saga.db('cards').where({ id: card.id }).update({
      status: 'FAILED',
      failure_code: 'PROVIDER_UNAVAILABLE',
      failure_message: 'retries exhausted',
      failed_at: new Date(),
      provider_card_id: null,
      last4: null,
      exp_month: null,
      exp_year: null,
      activated_at: null,
    });

    const report = await reconcile(lastHour(), deps());

    expect(about(report, card.id)).toEqual([
      {
        kind: 'local-card-failed',
        cardId: card.id,
        providerCardId: issued.id,
        localStatus: 'FAILED',
        providerStatus: 'ACTIVE',
        action: 'cancel-requested',
      },
    ]);
    expect(report.examined.providerCards).toBeGreaterThanOrEqual(1);
    await eventually(
      async () => {
        expect((await providerCard(card.id)).status).toBe('CANCELLED');
      },
      { timeoutMs: 30_000 },
    );
    await eventually(async () => {
      const row = await saga
        .db('cards')
        .where({ id: card.id })
        .first<{ provider_cancel_requested_at: Date | null; provider_cancelled_at: Date | null }>();
      expect(row.provider_cancel_requested_at).not.toBeNull();
      expect(row.provider_cancelled_at).not.toBeNull();
    });
    const again = await reconcile(lastHour(), deps());
    expect(about(again, card.id)).toEqual([]);
  });

  it('when the provider holds an ACTIVE card no card of ours references, then it is cancelled', async () => {
    const orphan = await orphanProviderCard();

    const report = await reconcile(lastHour(), deps());

    expect(about(report, orphan.reference)).toMatchObject([
      {
        kind: 'local-card-missing',
        providerCardId: orphan.id,
        localStatus: 'MISSING',
        action: 'cancel-requested',
      },
    ]);
    await eventually(
      async () => {
        expect((await providerCard(orphan.reference)).status).toBe('CANCELLED');
      },
      { timeoutMs: 30_000 },
    );
  });

  it('when our ACTIVE card’s provider card is cancelled or missing, then it is reported and nothing is written', async () => {
    const cancelledAtProvider = await activeCard();
    const issued = await providerCard(cancelledAtProvider.id);
    await fetch(`${saga.providerUrl}/v1/cards/${issued.id}/cancel`, { method: 'POST' });
    // An ACTIVE card of ours whose provider card the provider has never heard of.
    const unknownToProvider = { id: randomUUID() };
    await saga.db('cards').insert({
      id: unknownToProvider.id,
      user_id: userId,
      color: 'gold',
      status: 'ACTIVE',
      provider_card_id: 'pc_unknown_to_provider',
      last4: '1234',
      exp_month: 1,
      exp_year: 2030,
      activated_at: new Date(),
    });
    const outboxBefore = await saga.db('outbox').count<{ count: string }[]>({ count: '*' });

    const report = await reconcile(lastHour(), deps());

    expect(about(report, cancelledAtProvider.id)).toMatchObject([
      {
        kind: 'provider-card-cancelled',
        providerCardId: issued.id,
        providerStatus: 'CANCELLED',
        action: 'reported',
      },
    ]);
    expect(about(report, unknownToProvider.id)).toMatchObject([
      { kind: 'provider-card-missing', providerStatus: 'MISSING', action: 'reported' },
    ]);
    expect(await saga.db('outbox').count<{ count: string }[]>({ count: '*' })).toEqual(outboxBefore);
    expect(await saga.db('cards').where({ id: cancelledAtProvider.id }).first('status')).toEqual({
      status: 'ACTIVE',
    });
  });

  it('when another reconciliation holds the lock, then this one writes nothing; afterwards runs ask once, however often they run', async () => {
    const orphan = await orphanProviderCard();

    const lockedOut = await saga.db.transaction(async (trx) => {
      await trx.raw(/* sql */ 'SELECT pg_advisory_xact_lock(?)', [RECONCILIATION_LOCK_KEY]);
      return reconcile(lastHour(), deps());
    });
    expect(about(lockedOut, orphan.reference)).toMatchObject([
      { action: 'skipped-another-run-is-repairing' },
    ]);
    expect(await cancelRows(orphan.id)).toBe(0);

    // Freeze the worker for a moment, so the provider card stays ACTIVE while the runs below overlap and repeat.
    process.kill(saga.processes.providerWorker.pid, 'SIGSTOP');
    try {
      const concurrent = await Promise.all([1, 2, 3].map(() => reconcile(lastHour(), deps())));
      const repeated = await reconcile(lastHour(), deps());

      const actions = [...concurrent, repeated].map((report) => about(report, orphan.reference)[0]?.action);
      expect(actions.filter((action) => action === 'cancel-requested')).toHaveLength(1);
      expect(repeated.differences.find((d) => d.cardId === orphan.reference)?.action).toBe(
        'cancel-already-requested',
      );
      expect(await cancelRows(orphan.id)).toBe(1);
    } finally {
      process.kill(saga.processes.providerWorker.pid, 'SIGCONT');
    }
    await eventually(
      async () => {
        expect((await providerCard(orphan.reference)).status).toBe('CANCELLED');
      },
      { timeoutMs: 30_000 },
    );
  });

  it('when run as the operator command with --dry-run, then it prints the report and writes nothing; without, it repairs', async () => {
    const orphan = await orphanProviderCard();
    const lines: string[] = [];
    const ops = (argv: string[]) =>
      runOps(argv, {
        out: (line) => lines.push(line),
        loadConfig: () => ({ ...saga.config, PROVIDER_URL: saga.providerUrl }),
      });

    await ops(['reconcile', '--hours', '1', '--dry-run', '--json']);
    const dryRun = JSON.parse(lines.pop() ?? '{}') as ReconciliationReport;
    expect(dryRun.dryRun).toBe(true);
    expect(about(dryRun, orphan.reference)).toMatchObject([{ action: 'would-request-cancel' }]);
    expect(await cancelRows(orphan.id)).toBe(0);

    await ops(['reconcile', '--hours', '1', '--yes']);
    expect(lines[0]).toMatch(/^reconciliation [0-9a-f-]{36}$/);
    expect(lines).toContainEqual(
      expect.stringMatching(/^examined: \d+ provider card\(s\), \d+ local card\(s\)$/),
    );
    expect(lines).toContainEqual(
      `  local-card-missing card=${orphan.reference} provider_card=${orphan.id} local=MISSING provider=ACTIVE -> cancel-requested`,
    );
    expect(lines.at(-1)).toMatch(/^actions: .*cancel-requested=1/);
    expect(await cancelRows(orphan.id)).toBe(1);
  });

  it('when scheduled, then it runs every interval and repairs what it finds', async () => {
    const orphan = await orphanProviderCard();
    const reconciliation = startReconciliationJob({
      db: saga.db,
      logger: createLogger({ service: 'test', level: 'silent' }),
      topics: topicNames(saga.config),
      providerUrl: saga.providerUrl,
      intervalMs: 200,
      windowHours: 1,
      outboxWritten: () => undefined,
    });
    try {
      await eventually(
        async () => {
          expect((await providerCard(orphan.reference)).status).toBe('CANCELLED');
        },
        { timeoutMs: 30_000 },
      );
    } finally {
      await reconciliation.stop();
    }
    expect(await cancelRows(orphan.id)).toBe(1);
  });
});
