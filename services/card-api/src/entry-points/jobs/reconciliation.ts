import type { TopicNames } from '@cards/contracts';
import type { Logger } from '@cards/platform';
import type { Knex } from 'knex';

import { HttpProviderCardReader } from '../../data-access/provider-client';
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
  /** Aborts provider calls in flight (shutdown). */
  signal?: AbortSignal;
}): ReconcileDeps {
  return {
    provider: new HttpProviderCardReader({
      baseUrl: options.providerUrl,
      ...(options.providerTimeoutMs !== undefined && { timeoutMs: options.providerTimeoutMs }),
      ...(options.signal && { signal: options.signal }),
    }),
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
      if (report.differences.length > 0) {
        log.warn(reportLogFields(report), 'reconciliation found differences');
      } else {
        log.info(reportLogFields(report), 'reconciliation found no differences');
      }
    },
  }).start();
  return { job, stop: () => job.stop() };
}
