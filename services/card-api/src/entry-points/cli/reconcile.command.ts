import type { ReconcileDeps, ReconciliationReport } from '../../domain/reconcile';
import { reconcileLastHours } from '../jobs/reconciliation';
import type { Out } from './dlq.commands';

/** A report as lines an operator reads: the window, the totals, one line per difference, what was done. */
export function formatReport(report: ReconciliationReport): string[] {
  const lines = [
    `reconciliation ${report.runId}${report.dryRun ? ' (dry run: nothing written)' : ''}`,
    `window: ${report.window.from} .. ${report.window.to}`,
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
  const done = Object.entries(report.actions)
    .filter(([, count]) => count > 0)
    .map(([action, count]) => `${action}=${count}`);
  lines.push(`actions: ${done.length > 0 ? done.join(', ') : 'none'}`);
  return lines;
}

/** `reconcile [--hours N] [--dry-run] [--json]`: compares the last N hours and prints the report. */
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
  return report;
}
