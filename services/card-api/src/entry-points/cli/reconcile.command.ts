import type { ReconcileDeps, ReconciliationReport } from '../../domain/reconcile';
import { reconcileLastHours } from '../jobs/reconciliation';
import type { Out } from './dlq.commands';

/** A reconciliation that could not read the provider in full: its report was printed, and the command fails. */
export class ReconciliationIncompleteError extends Error {
  constructor(readonly report: ReconciliationReport) {
    super(`reconciliation incomplete: ${report.incompleteReason ?? 'unknown reason'}; run it again later`);
    this.name = 'ReconciliationIncompleteError';
  }
}

/** A report as lines an operator reads: the window, the totals, one line per difference, what was done. */
export function formatReport(report: ReconciliationReport): string[] {
  const lines = [
    `reconciliation ${report.runId}${report.dryRun ? ' (dry run: nothing written)' : ''}`,
    `window: ${report.window.from} .. ${report.window.to}`,
    report.complete
      ? 'complete: yes'
      : `complete: no, covered ${report.covered.from} .. ${report.covered.to} (${report.incompleteReason ?? 'unknown'})`,
    `examined: ${report.examined.providerCards} provider card(s), ${report.examined.localCards} local card(s)`,
    `matched: ${report.matched}, in flight (ours PENDING): ${report.inFlight}`,
    `differences: ${report.differences.length}`,
  ];
  for (const difference of report.differences) {
    lines.push(
      `  ${difference.kind} card=${difference.cardId} provider_card=${difference.providerCardId} ` +
        `local=${difference.localStatus} provider=${difference.providerStatus} -> ${difference.action}`,
    );
  }
  for (const card of report.unverified) {
    lines.push(
      `  unverified card=${card.cardId} provider_card=${card.providerCardId} (its provider card could not be read)`,
    );
  }
  const done = Object.entries(report.actions)
    .filter(([, count]) => count > 0)
    .map(([action, count]) => `${action}=${count}`);
  lines.push(`actions: ${done.length > 0 ? done.join(', ') : 'none'}`);
  return lines;
}

/**
 * `reconcile [--hours N] [--dry-run] [--json]`: compares the last N hours and prints the report; an incomplete
 * run (the provider could not be read in full within the retry budget) prints what it did and then fails, so a
 * script running it sees exit 1.
 */
export async function reconcileCommand(options: {
  hours: number;
  deps: ReconcileDeps;
  json?: boolean;
  out: Out;
  now?: Date;
}): Promise<ReconciliationReport> {
  const report = await reconcileLastHours(options.hours, options.deps, options.now);
  if (options.json) {
    options.out(JSON.stringify(report));
  } else {
    formatReport(report).forEach((line) => {
      options.out(line);
    });
  }
  if (!report.complete) {
    throw new ReconciliationIncompleteError(report);
  }
  return report;
}
