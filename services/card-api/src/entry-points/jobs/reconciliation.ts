import type { TopicNames } from '@cards/contracts';
import type { Logger } from '@cards/runtime';
import type { Knex } from 'knex';

import { DEFAULT_PROVIDER_READ_BUDGET, HttpProviderCardReader } from '../../data-access/provider-client';
import {
  findCardsByIds,
  listActiveCardsCreatedBetween,
  reconcileTransaction,
} from '../../data-access/reconciliation.repository';
import { reconcile, type ReconcileDeps, type ReconciliationReport } from '../../domain/reconcile';
import { PeriodicJob } from './periodic-job';

/** Wires reconcile's ports to the card database and the provider's HTTP API (shared by the job and the CLI). */
export function reconciliationDeps(options: {
  db: Knex;
  topics: TopicNames;
  providerUrl: string;
  outboxWritten: () => void;
  dryRun?: boolean;
  providerTimeoutMs?: number;
  /** How long the run keeps asking a failing provider again (RECONCILIATION_PROVIDER_BUDGET_SECONDS). */
  providerBudgetMs?: number;
  /** RECONCILIATION_RECANCEL_AFTER_MINUTES, in ms. */
  recancelAfterMs?: number;
  /** Aborts provider calls in flight (shutdown). */
  signal?: AbortSignal;
}): ReconcileDeps {
  return {
    // A reader per run: its retry budget is the run's.
    provider: new HttpProviderCardReader({
      baseUrl: options.providerUrl,
      ...(options.providerTimeoutMs !== undefined && { timeoutMs: options.providerTimeoutMs }),
      ...(options.signal && { signal: options.signal }),
      ...(options.providerBudgetMs !== undefined && {
        retry: { ...DEFAULT_PROVIDER_READ_BUDGET, budgetMs: options.providerBudgetMs },
      }),
    }),
    ...(options.recancelAfterMs !== undefined && { recancelAfterMs: options.recancelAfterMs }),
    findLocalCards: (ids) => findCardsByIds(ids, options.db),
    listActiveLocalCards: (window) => listActiveCardsCreatedBetween(window, options.db),
    transaction: reconcileTransaction(options.db, options.topics),
    outboxWritten: options.outboxWritten,
    ...(options.dryRun !== undefined && { dryRun: options.dryRun }),
  };
}

/** Reconciles the cards created in the last `hours` hours, up to now. */
export function reconcileLastHours(
  hours: number,
  deps: ReconcileDeps,
  now: Date = new Date(),
): Promise<ReconciliationReport> {
  return reconcile({ from: new Date(now.getTime() - hours * 3_600_000), to: now }, deps);
}

/** A report as one log line's fields: totals, and the first differences. */
export function reportLogFields(report: ReconciliationReport): Record<string, unknown> {
  return {
    runId: report.runId,
    window: report.window,
    dryRun: report.dryRun,
    examined: report.examined,
    matched: report.matched,
    inFlight: report.inFlight,
    complete: report.complete,
    ...(report.incompleteReason !== undefined && { incompleteReason: report.incompleteReason }),
    covered: report.covered,
    unverified: report.unverified.slice(0, 100),
    actions: report.actions,
    differences: report.differences.slice(0, 100),
    differencesTotal: report.differences.length,
  };
}

/** The scheduled reconciliation, or none. */
export interface ReconciliationJob {
  job: PeriodicJob | undefined;
  stop(): Promise<void>;
}

/**
 * Runs reconciliation inside card-api every `intervalMs` (0 = off: operators run `main-ops reconcile`) over the
 * last `windowHours`. Every replica may run it: the repair's advisory lock and its outbox check keep a cancel from
 * being asked twice. The first run waits one interval, so a fleet restarting together does not hit the provider
 * at once.
 */
export function startReconciliationJob(options: {
  db: Knex;
  logger: Logger;
  topics: TopicNames;
  providerUrl: string;
  intervalMs: number;
  windowHours: number;
  providerBudgetMs?: number;
  recancelAfterMs?: number;
  outboxWritten: () => void;
}): ReconciliationJob {
  if (options.intervalMs === 0) {
    return { job: undefined, stop: () => Promise.resolve() };
  }
  const log = options.logger.child({ component: 'reconciliation' });
  const job = new PeriodicJob({
    name: 'reconciliation',
    intervalMs: options.intervalMs,
    logger: log,
    runAtStart: false,
    run: async (signal) => {
      const report = await reconcileLastHours(
        options.windowHours,
        reconciliationDeps({ ...options, signal }),
      );
      if (!report.complete) {
        log.warn(
          reportLogFields(report),
          'reconciliation incomplete: the provider could not be read in full',
        );
      } else if (report.differences.length > 0) {
        log.warn(reportLogFields(report), 'reconciliation found differences');
      } else {
        log.info(reportLogFields(report), 'reconciliation found no differences');
      }
    },
  }).start();
  return { job, stop: () => job.stop() };
}
