/**
 * Operator commands of card-api, one entry point (build first: `make build`).
 *
 *   node services/card-api/dist/main-ops.js --help
 *   node services/card-api/dist/main-ops.js reconcile [--hours N] [--dry-run] [--json]
 *   node services/card-api/dist/main-ops.js dlq list <topic> [--json]
 *   node services/card-api/dist/main-ops.js dlq replay <topic> (--id <ce_id> | --offset <n> [--partition <p>] | --all)
 *
 * `reconcile` compares the provider's cards created in the last N hours (default RECONCILIATION_WINDOW_HOURS)
 * with ours, asks the saga to cancel provider cards that should not be active (`card.cancel.requested` through
 * the outbox; the relay and provider-worker must run for it to take effect), reports ACTIVE cards of ours whose
 * provider card is missing or cancelled, and prints what it saw and did. `--dry-run` writes nothing. Safe to run
 * while card-api runs its own scheduled reconciliation, and twice.
 *
 * `dlq list` prints each dead letter of `<topic>.dlq` (from the beginning up to the end offsets at the start of the
 * command): partition, offset, key, ce_id, ce_type, dlq-attempts, dlq-failed-at, dlq-reason; `--json` prints one
 * JSON document per line instead. `dlq replay` re-publishes the chosen dead letters to `<topic>` as they first
 * arrived (value, key, original headers without the dlq-* ones) and prints each; consumers are idempotent, so
 * replaying an event already applied changes nothing. `<topic>` may be given with or without `.dlq`.
 *
 * Settings come from the same environment as card-api (DATABASE_URL, KAFKA_BROKERS, PROVIDER_URL, …; see
 * .env.example). Output goes to stdout; `--verbose` adds the process's logs (LOG_LEVEL) to it. Any failure prints
 * one line to stderr and exits 1.
 */
import { parseArgs } from 'node:util';

import { ConfigError, createKafka, createLogger, runOnce } from '@cards/platform';

import { loadConfig, topicNames, type CardApiConfig } from './config';
import { createDatabase } from './data-access/database';
import { Channels, CoalescingNotifier } from './data-access/notifications';
import { dlqList, dlqReplay, type Out, type ReplaySelection } from './entry-points/cli/dlq.commands';
import { reconcileCommand } from './entry-points/cli/reconcile.command';
import { reconciliationDeps } from './entry-points/jobs/reconciliation';

export const USAGE = `Usage: node services/card-api/dist/main-ops.js <command> [options]

Commands:
  reconcile [--hours N] [--dry-run] [--json]
      Compare the provider's cards created in the last N hours (default RECONCILIATION_WINDOW_HOURS) with ours;
      request cancellation of provider cards that should not be active; report the rest.
  dlq list <topic> [--json]
      Print every dead letter of <topic>.dlq, up to its current end.
  dlq replay <topic> (--id <ce_id> | --offset <n> [--partition <p>] | --all)
      Re-publish dead letters of <topic>.dlq to <topic>, without their dlq-* headers.

Options:
  -h, --help     Show this help.
  --json         Machine-readable output (one JSON document per line).
  --verbose      Also print the process's logs (LOG_LEVEL).

Environment: the card-api settings (DATABASE_URL, KAFKA_BROKERS, PROVIDER_URL, ...).`;

/** Thrown for a command line that cannot be run; the message says what to change. */
class UsageError extends Error {
  constructor(message: string) {
    super(`${message} (see --help)`);
    this.name = 'UsageError';
  }
}

function parse(argv: readonly string[]) {
  try {
    return parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        help: { type: 'boolean', short: 'h' },
        json: { type: 'boolean' },
        verbose: { type: 'boolean' },
        'dry-run': { type: 'boolean' },
        hours: { type: 'string' },
        id: { type: 'string' },
        offset: { type: 'string' },
        partition: { type: 'string' },
        all: { type: 'boolean' },
      },
    });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

function wholeNumber(value: string, name: string, bounds: { min: number; max: number }): number {
  const number = Number(value);
  if (!/^\d+$/.test(value) || number < bounds.min || number > bounds.max) {
    throw new UsageError(`${name} must be a whole number from ${bounds.min} to ${bounds.max} (got ${value})`);
  }
  return number;
}

function replaySelection(values: {
  id?: string;
  offset?: string;
  partition?: string;
  all?: boolean;
}): ReplaySelection {
  const chosen = [values.id !== undefined, values.offset !== undefined, values.all === true].filter(Boolean);
  if (chosen.length !== 1) {
    throw new UsageError('dlq replay needs exactly one of --id <ce_id>, --offset <n> or --all');
  }
  if (values.partition !== undefined && values.offset === undefined) {
    throw new UsageError('--partition goes with --offset');
  }
  if (values.id !== undefined) {
    return { id: values.id };
  }
  if (values.offset !== undefined) {
    const offset = String(wholeNumber(values.offset, '--offset', { min: 0, max: Number.MAX_SAFE_INTEGER }));
    return values.partition === undefined
      ? { offset }
      : { offset, partition: wholeNumber(values.partition, '--partition', { min: 0, max: 100_000 }) };
  }
  return { all: true };
}

/** Runs one operator command line (without `node main-ops.js`), writing its output to `out`. */
export async function runOps(
  argv: readonly string[],
  io: { out: Out; loadConfig?: () => CardApiConfig },
): Promise<void> {
  const { values, positionals } = parse(argv);
  const [command, ...rest] = positionals;
  if (values.help || command === 'help') {
    io.out(USAGE);
    return;
  }
  if (command === undefined) {
    throw new UsageError('missing command');
  }
  const config = (io.loadConfig ?? loadConfig)();
  const logger = createLogger({
    service: 'card-api-ops',
    level: values.verbose ? config.LOG_LEVEL : 'silent',
  });

  if (command === 'reconcile') {
    if (rest.length > 0) {
      throw new UsageError(`unexpected argument ${rest.join(' ')}`);
    }
    const hours =
      values.hours === undefined
        ? config.RECONCILIATION_WINDOW_HOURS
        : wholeNumber(values.hours, '--hours', { min: 1, max: 24 * 90 });
    const db = createDatabase({ url: config.DATABASE_URL, poolMax: 2, logger });
    const outboxWritten = new CoalescingNotifier(db, Channels.outbox, logger);
    try {
      await reconcileCommand({
        hours,
        json: values.json ?? false,
        out: io.out,
        deps: reconciliationDeps({
          db,
          topics: topicNames(config),
          providerUrl: config.PROVIDER_URL,
          dryRun: values['dry-run'] ?? false,
          outboxWritten: () => {
            outboxWritten.hint();
          },
        }),
      });
    } finally {
      // Sends the relay's wake-up before the pool closes.
      await outboxWritten.close();
      await db.destroy();
    }
    return;
  }

  if (command === 'dlq') {
    const [action, topic, ...extra] = rest;
    if (action !== 'list' && action !== 'replay') {
      throw new UsageError(`dlq needs list or replay${action === undefined ? '' : `, not ${action}`}`);
    }
    if (topic === undefined) {
      throw new UsageError(`dlq ${action} needs a topic`);
    }
    if (extra.length > 0) {
      throw new UsageError(`unexpected argument ${extra.join(' ')}`);
    }
    const kafka = createKafka(
      { clientId: `${config.KAFKA_CLIENT_ID}-ops`, brokers: config.KAFKA_BROKERS },
      logger,
    );
    if (action === 'list') {
      await dlqList({ kafka, topic, json: values.json ?? false, out: io.out });
    } else {
      await dlqReplay({ kafka, topic, selection: replaySelection(values), out: io.out });
    }
    return;
  }

  throw new UsageError(`unknown command ${command}`);
}

if (require.main === module) {
  // kafkajs (maintenance mode) arms a negative timer in its request queue on every connection, and Node prints a
  // TimeoutNegativeWarning for it; an operator's stderr should hold only the error, so that one warning is dropped.
  const printWarning = process.listeners('warning');
  process.removeAllListeners('warning');
  process.on('warning', (warning) => {
    if (warning.name !== 'TimeoutNegativeWarning') {
      printWarning.forEach((print) => {
        print(warning);
      });
    }
  });
  runOnce('main-ops', async () => {
    try {
      await runOps(process.argv.slice(2), {
        out: (line) => {
          process.stdout.write(`${line}\n`);
        },
      });
    } catch (error) {
      // One line on stderr: multi-line messages (validation details) are folded.
      if (error instanceof Error && !(error instanceof ConfigError)) {
        throw new Error(error.message.replace(/\s*\n\s*/g, '; '), { cause: error });
      }
      throw error;
    }
    // Let stdout drain before runOnce exits the process.
    await new Promise<void>((resolve) =>
      process.stdout.write('', () => {
        resolve();
      }),
    );
  });
}
