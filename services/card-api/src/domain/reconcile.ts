import { randomUUID } from 'node:crypto';

import { EventType, type CardEvent, type CardStatus, type ProviderCard } from '@cards/contracts';

import { EVENT_SOURCE, type OutboxWriter } from './card';

/** The provider's cards, read-only. */
export interface ProviderCardReader {
  /** Cards created in [createdFrom, createdTo), at most `limit` of them, newest first. */
  listCards(filter: { createdFrom: Date; createdTo: Date; limit: number }): Promise<ProviderCard[]>;
  /** One card by the provider's id; undefined when the provider does not know it. */
  findCard(providerCardId: string): Promise<ProviderCard | undefined>;
}

/** What reconciliation needs to know of one of our cards. */
export interface LocalCard {
  id: string;
  status: CardStatus;
  providerCardId: string | null;
}

/** What the repair needs inside its one transaction. */
export interface ReconcileTransaction extends OutboxWriter {
  /** A transaction-scoped advisory lock; false when another reconciliation is repairing right now. */
  tryLock(): Promise<boolean>;
  /**
   * Of these provider cards, those a `card.cancel.requested` is in the outbox for (pending or sent), each with when
   * the latest was requested.
   */
  lastCancelRequests(providerCardIds: readonly string[]): Promise<Map<string, Date>>;
  markProviderCancelRequested(cardId: string, at: Date): Promise<void>;
}

export interface ReconcileDeps {
  provider: ProviderCardReader;
  /** Our cards with these ids (the provider's `reference`); missing ids are simply absent. */
  findLocalCards(ids: readonly string[]): Promise<LocalCard[]>;
  /** Our ACTIVE cards created in [from, to). */
  listActiveLocalCards(window: { from: Date; to: Date }): Promise<LocalCard[]>;
  transaction<T>(work: (tx: ReconcileTransaction) => Promise<T>): Promise<T>;
  /** Called after commit when the repair wrote outbox rows (wakes the relay; coalesced). */
  outboxWritten(): void;
  /** Compare and report only; nothing is written. */
  dryRun?: boolean;
  /** Provider cards per list call (the provider allows up to 1000). */
  pageSize?: number;
  /**
   * How long a requested cancel is waited for before a provider card still ACTIVE is asked to cancel again (cancels
   * are idempotent): a cancel may have been lost, dead-lettered, or believed while the provider did not cancel.
   */
  recancelAfterMs?: number;
  now?: () => Date;
  newId?: () => string;
}

/** How our card and the provider's disagree. */
export type DifferenceKind =
  /** The provider holds an ACTIVE card for a card of ours that FAILED: cancel it. */
  | 'local-card-failed'
  /** The provider holds an ACTIVE card whose reference is no card of ours: cancel it. */
  | 'local-card-missing'
  /** Our card is ACTIVE with another provider card; this one is surplus: cancel it. */
  | 'local-card-holds-another-provider-card'
  /** Our card is ACTIVE but the provider does not know its card: report (needs a human). */
  | 'provider-card-missing'
  /** Our card is ACTIVE but its provider card was cancelled: report (needs a human). */
  | 'provider-card-cancelled';

export type DifferenceAction =
  | 'cancel-requested'
  /** A cancel was requested more than `recancelAfterMs` ago and the provider card is still ACTIVE. */
  | 'cancel-requested-again'
  | 'cancel-already-requested'
  | 'would-request-cancel'
  | 'skipped-another-run-is-repairing'
  | 'reported';

export interface Difference {
  kind: DifferenceKind;
  cardId: string;
  providerCardId: string;
  localStatus: CardStatus | 'MISSING';
  providerStatus: ProviderCard['status'] | 'MISSING';
  action: DifferenceAction;
}

/** What one reconciliation saw and did; printed by the operator command and logged by the scheduled job. */
export interface ReconciliationReport {
  runId: string;
  window: { from: string; to: string };
  dryRun: boolean;
  examined: { providerCards: number; localCards: number };
  /** ACTIVE on both sides, with the same provider card. */
  matched: number;
  /** The provider card exists and ours is still PENDING: the saga is on its way, nothing to do. */
  inFlight: number;
  differences: Difference[];
  /** Counts of `differences` by action. */
  actions: Record<DifferenceAction, number>;
  /**
   * False when the provider could not be read in full (its reader gave up, retries and budget spent): the report
   * then holds what was compared, `covered` says which part of the window, and the rest waits for the next run.
   */
  complete: boolean;
  incompleteReason?: string;
  /** The part of the window whose provider cards were all listed (the whole window when complete). */
  covered: { from: string; to: string };
  /** Our ACTIVE cards whose provider card could not be looked up: neither matched nor reported. */
  unverified: { cardId: string; providerCardId: string }[];
}

/** The default of `recancelAfterMs`: well past a saga's own retries, well under the reconciliation window. */
export const DEFAULT_RECANCEL_AFTER_MS = 30 * 60_000;

/** The actions that wrote a cancel to the outbox. */
const WRITES_A_CANCEL: ReadonlySet<DifferenceAction> = new Set([
  'cancel-requested',
  'cancel-requested-again',
]);

/** Repairs that cancel the provider card through the saga. */
const CANCEL_KINDS: ReadonlySet<DifferenceKind> = new Set([
  'local-card-failed',
  'local-card-missing',
  'local-card-holds-another-provider-card',
]);

/**
 * Compares the provider's cards created in the window with ours and repairs through the saga, never behind its
 * back: a provider card that is ACTIVE while our card is not ACTIVE with it gets `card.cancel.requested` in the
 * outbox (the worker cancels it, `card.cancelled` is recorded). An ACTIVE card of ours whose provider card is
 * missing or cancelled is only reported: no automatic fix is safe there. Idempotent and safe to run concurrently:
 * the repair holds a transaction-scoped advisory lock and skips provider cards a cancel was requested for less than
 * `recancelAfterMs` ago; one still ACTIVE after that is asked again, since believing a cancel is what went wrong.
 * A provider that fails part of the way yields a partial report (`complete: false`), never a repair built on a
 * guess.
 */
export async function reconcile(
  window: { from: Date; to: Date },
  deps: ReconcileDeps,
): Promise<ReconciliationReport> {
  if (!(window.from < window.to)) {
    throw new Error('reconciliation window must have from < to');
  }
  const now = deps.now ?? (() => new Date());
  const newId = deps.newId ?? randomUUID;
  const runId = newId();

  const listing = await listProviderCards(window, deps);
  const providerCards = listing.cards;
  const covered = { from: listing.coveredFrom, to: window.to };
  let incompleteReason = listing.failure;
  const providerById = new Map(providerCards.map((card) => [card.id, card]));
  const references = [...new Set(providerCards.map((card) => card.reference))];
  const localById = new Map((await deps.findLocalCards(references)).map((card) => [card.id, card]));

  const differences: Omit<Difference, 'action'>[] = [];
  let matched = 0;
  let inFlight = 0;
  for (const card of providerCards) {
    if (card.status !== 'ACTIVE') {
      continue;
    }
    const local = localById.get(card.reference);
    const base = { cardId: card.reference, providerCardId: card.id, providerStatus: card.status };
    if (!local) {
      differences.push({ ...base, kind: 'local-card-missing', localStatus: 'MISSING' });
    } else if (local.status === 'PENDING') {
      inFlight += 1;
    } else if (local.status === 'FAILED') {
      differences.push({ ...base, kind: 'local-card-failed', localStatus: local.status });
    } else if (local.providerCardId !== card.id) {
      differences.push({
        ...base,
        kind: 'local-card-holds-another-provider-card',
        localStatus: local.status,
      });
    } else {
      matched += 1;
    }
  }

  // Only our cards of the part of the window the provider's list covered: elsewhere a card missing from the list
  // proves nothing.
  const activeLocals = await deps.listActiveLocalCards(covered);
  const unverified: ReconciliationReport['unverified'] = [];
  for (const local of activeLocals) {
    localById.set(local.id, local);
    if (local.providerCardId === null) {
      continue;
    }
    // A provider card created just outside the window is not in the listing: ask for it by id before calling
    // it missing (rare, so one call each is fine).
    let providerCard = providerById.get(local.providerCardId);
    if (!providerCard) {
      try {
        providerCard = await deps.provider.findCard(local.providerCardId);
      } catch (error) {
        unverified.push({ cardId: local.id, providerCardId: local.providerCardId });
        incompleteReason ??= `provider card ${local.providerCardId} could not be read: ${messageOf(error)}`;
        continue;
      }
    }
    const base = { cardId: local.id, providerCardId: local.providerCardId, localStatus: local.status };
    if (!providerCard) {
      differences.push({ ...base, kind: 'provider-card-missing', providerStatus: 'MISSING' });
    } else if (providerCard.status === 'CANCELLED') {
      differences.push({ ...base, kind: 'provider-card-cancelled', providerStatus: providerCard.status });
    }
  }

  const decided = await repair(differences, { deps, runId, at: now(), newId });
  const actions: Record<DifferenceAction, number> = {
    'cancel-requested': 0,
    'cancel-requested-again': 0,
    'cancel-already-requested': 0,
    'would-request-cancel': 0,
    'skipped-another-run-is-repairing': 0,
    reported: 0,
  };
  for (const difference of decided) {
    actions[difference.action] += 1;
  }
  return {
    runId,
    window: { from: window.from.toISOString(), to: window.to.toISOString() },
    dryRun: deps.dryRun ?? false,
    examined: { providerCards: providerCards.length, localCards: localById.size },
    matched,
    inFlight,
    differences: decided,
    actions,
    complete: incompleteReason === undefined,
    ...(incompleteReason !== undefined && { incompleteReason }),
    covered: { from: covered.from.toISOString(), to: covered.to.toISOString() },
    unverified,
  };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Writes the cancels the differences call for, once, and says what was done with each difference. */
async function repair(
  differences: readonly Omit<Difference, 'action'>[],
  context: { deps: ReconcileDeps; runId: string; at: Date; newId: () => string },
): Promise<Difference[]> {
  const { deps, runId, at, newId } = context;
  const recancelAfterMs = deps.recancelAfterMs ?? DEFAULT_RECANCEL_AFTER_MS;
  const toCancel = differences.filter((difference) => CANCEL_KINDS.has(difference.kind));
  const reported = differences
    .filter((difference) => !CANCEL_KINDS.has(difference.kind))
    .map((difference): Difference => ({ ...difference, action: 'reported' }));
  if (toCancel.length === 0) {
    return reported;
  }
  if (deps.dryRun) {
    return [...toCancel.map((d): Difference => ({ ...d, action: 'would-request-cancel' })), ...reported];
  }
  const decided = await deps.transaction(async (tx): Promise<Difference[]> => {
    if (!(await tx.tryLock())) {
      return toCancel.map((d) => ({ ...d, action: 'skipped-another-run-is-repairing' }));
    }
    const requested = await tx.lastCancelRequests(toCancel.map((d) => d.providerCardId));
    const actionFor = (providerCardId: string): DifferenceAction => {
      const last = requested.get(providerCardId);
      if (last === undefined) {
        return 'cancel-requested';
      }
      // Recently asked: the cancel may still be on its way. Long ago: it was lost or not done; ask again.
      return at.getTime() - last.getTime() < recancelAfterMs
        ? 'cancel-already-requested'
        : 'cancel-requested-again';
    };
    const withActions = toCancel.map((d): Difference => ({ ...d, action: actionFor(d.providerCardId) }));
    const fresh = withActions.filter((d) => d.action !== 'cancel-already-requested');
    await tx.appendOutbox(fresh.map((d) => cancelEvent(d, { id: newId(), runId, at })));
    for (const difference of fresh) {
      // Only a FAILED card's provider card is being cancelled; an ACTIVE card keeps its own provider card.
      if (difference.kind === 'local-card-failed') {
        await tx.markProviderCancelRequested(difference.cardId, at);
      }
    }
    return withActions;
  });
  if (decided.some((difference) => WRITES_A_CANCEL.has(difference.action))) {
    deps.outboxWritten();
  }
  return [...decided, ...reported];
}

function cancelEvent(
  difference: Omit<Difference, 'action'>,
  meta: { id: string; runId: string; at: Date },
): CardEvent<typeof EventType.cancelRequested> {
  const why = {
    'local-card-failed': 'our card is FAILED',
    'local-card-missing': 'no card of ours has this reference',
    'local-card-holds-another-provider-card': 'our card is ACTIVE with another provider card',
  } as Partial<Record<DifferenceKind, string>>;
  return {
    id: meta.id,
    type: EventType.cancelRequested,
    source: EVENT_SOURCE,
    time: meta.at.toISOString(),
    subject: difference.cardId,
    // One correlation id per run, so an operator can follow every repair of a run through the logs.
    correlationId: `reconciliation-${meta.runId}`,
    data: {
      cardId: difference.cardId,
      providerCardId: difference.providerCardId,
      reason: `reconciliation: provider card ACTIVE but ${why[difference.kind] ?? difference.kind}`,
    },
  };
}

/**
 * Every provider card created in the window, or as much of it as the provider gave: the provider's list has no
 * cursor, so pages walk back by moving `createdTo` to just after the oldest card seen (that millisecond is read
 * again, duplicates dropped by id). A page the reader could not get (it retries within its budget) ends the walk:
 * the cards before it are kept, and `coveredFrom` says how far back the listing is complete.
 */
async function listProviderCards(
  window: { from: Date; to: Date },
  deps: ReconcileDeps,
): Promise<{ cards: ProviderCard[]; coveredFrom: Date; failure?: string }> {
  const pageSize = deps.pageSize ?? 1000;
  const cards = new Map<string, ProviderCard>();
  let createdTo = window.to;
  for (;;) {
    let page: ProviderCard[];
    try {
      page = await deps.provider.listCards({ createdFrom: window.from, createdTo, limit: pageSize });
    } catch (error) {
      return {
        cards: [...cards.values()],
        coveredFrom: createdTo,
        failure: `provider card list failed before ${createdTo.toISOString()}: ${messageOf(error)}`,
      };
    }
    for (const card of page) {
      cards.set(card.id, card);
    }
    if (page.length < pageSize) {
      return { cards: [...cards.values()], coveredFrom: window.from };
    }
    const oldest = Math.min(...page.map((card) => Date.parse(card.createdAt)));
    const next = new Date(oldest + 1);
    if (next >= createdTo) {
      throw new Error(
        `more than ${pageSize} provider cards were created in one millisecond (${new Date(oldest).toISOString()}): ` +
          'the list cannot be paged past them',
      );
    }
    createdTo = next;
  }
}
