/**
 * The operator CLI of card-api, `cards-ops` (build first: `make build`). `--help` lists every command, `<command>
 * --help` explains one; the usage text is USAGE in entry-points/cli/command-line.ts.
 *
 *   npx cards-ops --help            (also: make ops ARGS='…', node services/card-api/dist/main-ops.js …)
 *   npx cards-ops topics tail|partitions <topic> …      npx cards-ops consumers lag|reset …
 *   npx cards-ops dlq list|replay <topic> …             npx cards-ops outbox status|quarantined|release …
 *   npx cards-ops cards show|stuck …                    npx cards-ops reconcile …
 *   npx cards-ops users create …                        npx cards-ops token mint …
 *
 * `topics tail` follows a topic (`commands`/`results` name the configured ones; `.dlq` for their dead letters)
 * with a throw-away consumer group that commits nothing, decodes each message and checks it against the contracts,
 * and prints one line per message (`time  topic[partition]@offset  type  card  correlation-id  data`, or INVALID
 * and the reason), or one JSON document with `--json`, until SIGINT/SIGTERM; then it disconnects and exits 0.
 * `--max` and `--idle-exit` stop it earlier (scripts, tests).
 *
 * `dlq list` prints each dead letter of `<topic>.dlq` (from the beginning up to the end offsets at the start of the
 * command): partition, offset, key, ce_id, ce_type, dlq-attempts, dlq-failed-at, dlq-reason; `--json` prints one
 * JSON document per line instead. `dlq replay` re-publishes the chosen dead letters to `<topic>` as they first
 * arrived (value, key, original headers without the dlq-* ones) and prints each; consumers are idempotent, so
 * replaying an event already applied changes nothing. `<topic>` may be given with or without `.dlq`.
 *
 * `outbox status` prints the backlog (unpublished rows, the oldest's time and age by the database's clock), the
 * rows whose publishing fails (count, and the error of the first, which the relay is retrying), the rows published
 * in the last minute, and the database session that holds the relay's advisory lock (pid, application name,
 * client address, start), or none. `outbox quarantined` lists the rows the relay set aside; `outbox release` hands
 * one back to it (with a fixed event from `--event-file`, checked against the contract), with an audit row.
 * `cards show` prints a card and its saga timeline from the database: the
 * request, the outbox rows written and published, the results received and what each did, compensation.
 *
 * `reconcile` compares the provider's cards created in the last N hours (default RECONCILIATION_WINDOW_HOURS)
 * with ours, asks the saga to cancel provider cards that should not be active (`card.cancel.requested` through
 * the outbox; the relay and provider-worker must run for it to take effect), reports ACTIVE cards of ours whose
 * provider card is missing or cancelled, and prints what it saw and did. `--dry-run` writes nothing. Safe to run
 * while card-api runs its own scheduled reconciliation, and twice.
 *
 * `users create` inserts a user (the rules of POST /v1/admin/users); `token mint` prints a development token
 * (what `make token` prints), and refuses with NODE_ENV=production. `users create` and `dlq replay` write an audit
 * row (actor `ops-cli`), as the admin API does; replay warns on stderr when the database cannot take it.
 *
 * Settings come from the same environment as card-api (DATABASE_URL, KAFKA_BROKERS, PROVIDER_URL, …; see
 * .env.example). Output goes to stdout, progress lines (`# …`) of long-running commands to stderr; `--verbose`
 * adds the process's logs (LOG_LEVEL). Any failure prints one line to stderr and exits 1.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline/promises';

import { AuditAction } from '@cards/contracts';
import { createKafka, withKafkaAdmin, type KafkaClient } from '@cards/messaging';
import { ConfigError, createLogger, isAvailabilityError, runOnce, type Logger } from '@cards/runtime';
import type { Knex } from 'knex';

import { loadConfig, topicNames, type CardApiConfig } from './config';
import { appendAudit, auditLog } from './data-access/audit.repository';
import { cardViewSources } from './data-access/card-view.repository';
import { listCards } from './data-access/cards.repository';
import { createDatabase } from './data-access/database';
import { Channels, CoalescingNotifier } from './data-access/notifications';
import {
  findAdvisoryLockHolder,
  findQuarantined,
  listQuarantined,
  outboxStatusFigures,
  releaseQuarantined,
} from './data-access/outbox.repository';
import { findUserByExternalId, userCreationPorts, userRolePorts } from './data-access/users.repository';
import { OPS_CLI_ACTOR } from './domain/audit';
import { cardsShow } from './entry-points/cli/cards-show.command';
import { cardsStuck } from './entry-points/cli/cards-stuck.command';
import { asCliError } from './entry-points/cli/cli-errors';
import { parseCommand, UsageError, type OpsCommand } from './entry-points/cli/command-line';
import { goAhead, type Confirm } from './entry-points/cli/confirmation';
import { consumersLag, consumersReset, topicsPartitions } from './entry-points/cli/consumers.commands';
import { dlqList, dlqReplay, topicPair, type Out } from './entry-points/cli/dlq.commands';
import {
  outboxQuarantinedCommand,
  outboxReleaseCommand,
} from './entry-points/cli/outbox-quarantine.commands';
import { outboxStatusCommand } from './entry-points/cli/outbox-status.command';
import { reconcileCommand } from './entry-points/cli/reconcile.command';
import { resolveTopic, tailTopic } from './entry-points/cli/topics-tail.command';
import { mintToken } from './entry-points/cli/dev-token';
import { tokenMint, usersCreate, usersRole } from './entry-points/cli/users-and-tokens.commands';
import { RELAY_LOCK_KEY } from './data-access/relay-lease';
import { reconciliationDeps } from './entry-points/jobs/reconciliation';

export { USAGE } from './entry-points/cli/command-line';

/** Where runOps writes, and what it may ask of the process it runs in. */
export interface OpsIo {
  /** The command's output, one line per call (stdout in the CLI). */
  out: Out;
  /** Progress lines of long-running commands (stderr in the CLI); dropped when not given. */
  progress?: Out;
  /**
   * Asked for by a command that follows until stopped (topics tail): a signal aborted on SIGINT/SIGTERM. Other
   * commands never ask, so Ctrl-C ends them at once. Without it such a command stops only by --max/--idle-exit.
   */
  interrupts?: () => AbortSignal;
  /**
   * Asks the operator to confirm a change (y/N); false when it is not confirmed. Without it a command that changes
   * state runs only with --yes.
   */
  confirm?: (question: string) => Promise<boolean>;
  loadConfig?: () => CardApiConfig;
}

/**
 * True for failures to reach or log in to PostgreSQL: the database being away (isAvailabilityError), a login refused
 * (SQLSTATE class 28) or a database that does not exist (3D000), which an operator fixes in DATABASE_URL.
 */
function isConnectionError(error: unknown): error is Error {
  const code = error instanceof Error ? (error as { code?: unknown }).code : undefined;
  const loginRefused = typeof code === 'string' && (code.startsWith('28') || code === '3D000');
  return error instanceof Error && (loginRefused || isAvailabilityError(error));
}

/** Runs `work` with a small pool; a connection failure names the database (never its password). */
async function withDatabase<T>(
  config: CardApiConfig,
  logger: Logger,
  work: (db: Knex) => Promise<T>,
): Promise<T> {
  const db = createDatabase({ url: config.DATABASE_URL, poolMax: 2, logger });
  try {
    return await work(db);
  } catch (error) {
    if (isConnectionError(error)) {
      const url = new URL(config.DATABASE_URL);
      throw new Error(`database ${url.host}${url.pathname} (DATABASE_URL): ${error.message}`, {
        cause: error,
      });
    }
    throw error;
  } finally {
    await db.destroy();
  }
}

/** Runs `work` with a Kafka client; a kafkajs failure (an unreachable broker, say) names the brokers. */
async function withKafka<T>(
  config: CardApiConfig,
  logger: Logger,
  work: (kafka: KafkaClient) => Promise<T>,
): Promise<T> {
  const kafka = createKafka(
    { clientId: `${config.KAFKA_CLIENT_ID}-ops`, brokers: config.KAFKA_BROKERS },
    logger,
  );
  try {
    return await work(kafka);
  } catch (error) {
    if (error instanceof Error && error.name.startsWith('KafkaJS')) {
      const brokers = config.KAFKA_BROKERS.join(',');
      throw new Error(`Kafka ${brokers} (KAFKA_BROKERS): ${error.message}`, { cause: error });
    }
    throw error;
  }
}

async function execute(
  command: Exclude<OpsCommand, { name: 'help' | 'version' }>,
  config: CardApiConfig,
  logger: Logger,
  io: OpsIo,
): Promise<void> {
  const { out } = io;
  const progress = io.progress ?? (() => undefined);
  /** How a command that changes state is confirmed: --yes says yes at once; otherwise the operator is asked. */
  const confirmation = (yes: boolean): Confirm | undefined =>
    yes ? () => Promise.resolve(true) : io.confirm;
  switch (command.name) {
    case 'reconcile': {
      const hours = command.hours ?? config.RECONCILIATION_WINDOW_HOURS;
      if (!command.dryRun) {
        await goAhead({
          command: 'reconcile',
          change:
            `compare the last ${hours} h with the provider at ${config.PROVIDER_URL} and repair what differs ` +
            '(cancel provider cards that should not be active)',
          confirm: confirmation(command.yes),
          out,
        });
      }
      progress(
        `# comparing the last ${hours} h with the provider at ${config.PROVIDER_URL}` +
          (command.dryRun ? ' (dry run)' : ''),
      );
      const db = createDatabase({ url: config.DATABASE_URL, poolMax: 2, logger });
      const outboxWritten = new CoalescingNotifier(db, Channels.outbox, logger);
      try {
        await reconcileCommand({
          hours,
          json: command.json,
          out,
          deps: reconciliationDeps({
            db,
            topics: topicNames(config),
            providerUrl: config.PROVIDER_URL,
            dryRun: command.dryRun,
            providerBudgetMs: config.RECONCILIATION_PROVIDER_BUDGET_SECONDS * 1000,
            recancelAfterMs: config.RECONCILIATION_RECANCEL_AFTER_MINUTES * 60_000,
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

    case 'dlq list': {
      const topic = resolveTopic(command.topic, topicNames(config));
      progress(`# reading ${topicPair(topic).dlq} up to its current end`);
      await withKafka(config, logger, (kafka) =>
        dlqList({ kafka, topic, card: command.card, json: command.json, out }),
      );
      return;
    }

    case 'dlq replay': {
      const topic = resolveTopic(command.topic, topicNames(config));
      progress(`# reading ${topicPair(topic).dlq} up to its current end`);
      await withKafka(config, logger, (kafka) =>
        dlqReplay({
          kafka,
          topic,
          selection: command.selection,
          dryRun: command.dryRun,
          json: command.json,
          confirm: confirmation(command.yes),
          // The database is opened only when there is a row to write, after the replay.
          audit: { append: (entry) => withDatabase(config, logger, (db) => appendAudit(entry, db)) },
          // The replay has happened whatever the audit does, so a row the database cannot take is reported, not
          // made the command's failure.
          auditNotWritten: (error) => {
            progress(
              `# warning: the audit row was not written: ${error instanceof Error ? error.message : String(error)}`,
            );
          },
          out,
        }),
      );
      return;
    }

    case 'topics tail':
      await withKafka(config, logger, (kafka) =>
        tailTopic({
          kafka,
          topic: resolveTopic(command.topic, topicNames(config)),
          fromBeginning: command.fromBeginning,
          card: command.card,
          json: command.json,
          max: command.max,
          idleExitMs: command.idleExitMs,
          ...(io.interrupts && { signal: io.interrupts() }),
          out,
          progress,
        }),
      );
      return;

    case 'outbox status':
      await withDatabase(config, logger, (db) =>
        outboxStatusCommand({
          json: command.json,
          out,
          deps: {
            figures: () => outboxStatusFigures(db),
            relayHolder: () => findAdvisoryLockHolder(RELAY_LOCK_KEY, db),
          },
        }),
      );
      return;

    case 'outbox quarantined':
      await withDatabase(config, logger, (db) =>
        outboxQuarantinedCommand({ list: () => listQuarantined(db), json: command.json, out }),
      );
      return;

    case 'outbox release': {
      const replacementText =
        command.eventFile === undefined ? undefined : await readFile(command.eventFile, 'utf8');
      await withDatabase(config, logger, (db) =>
        outboxReleaseCommand({
          id: command.id,
          replacementText,
          dryRun: command.dryRun,
          confirm: confirmation(command.yes),
          find: (id) => findQuarantined(id, db),
          // The release and its audit row commit together.
          release: (id, replacement) =>
            db.transaction(async (tx) => {
              const released = await releaseQuarantined(id, replacement, tx);
              if (released) {
                await auditLog(tx).append({
                  ...OPS_CLI_ACTOR,
                  action: AuditAction.outboxRelease,
                  target: id,
                  details: { eventReplaced: replacement !== undefined },
                });
              }
              return released;
            }),
          out,
        }),
      );
      return;
    }

    case 'topics partitions': {
      const topic = resolveTopic(command.topic, topicNames(config));
      await withKafka(config, logger, (kafka) =>
        withKafkaAdmin(kafka, (admin) => topicsPartitions({ admin, topic, json: command.json, out })),
      );
      return;
    }

    case 'consumers lag': {
      const topics = topicNames(config);
      await withKafka(config, logger, (kafka) =>
        withKafkaAdmin(kafka, (admin) =>
          consumersLag({
            admin,
            consumers: [
              { groupId: config.PROVIDER_WORKER_GROUP_ID, topic: topics.provisioningCommands },
              { groupId: config.CARD_EVENTS_GROUP_ID, topic: topics.provisioningResults },
            ],
            json: command.json,
            out,
          }),
        ),
      );
      return;
    }

    case 'consumers reset': {
      const topic = resolveTopic(command.topic, topicNames(config));
      await withKafka(config, logger, (kafka) =>
        withKafkaAdmin(kafka, (admin) =>
          consumersReset({
            admin,
            group: command.group,
            topic,
            to: command.to,
            dryRun: command.dryRun,
            confirm: confirmation(command.yes),
            out,
          }),
        ),
      );
      return;
    }

    case 'cards stuck':
      await withDatabase(config, logger, (db) =>
        cardsStuck({
          olderThanSeconds: command.olderThanSeconds ?? config.ADMIN_STUCK_PENDING_SECONDS,
          pendingBefore: async (before, limit) =>
            (await listCards({ status: 'PENDING', createdTo: before, order: 'asc', limit }, db)).cards,
          json: command.json,
          out,
        }),
      );
      return;

    case 'cards show':
      await withDatabase(config, logger, (db) =>
        cardsShow({
          cardId: command.cardId,
          json: command.json,
          out,
          deps: cardViewSources(db),
        }),
      );
      return;

    case 'users create':
      await withDatabase(config, logger, (db) =>
        usersCreate({
          user: { externalId: command.externalId, email: command.email, role: command.role },
          ports: userCreationPorts(db),
          dryRun: command.dryRun,
          confirm: confirmation(command.yes),
          json: command.json,
          out,
        }),
      );
      return;

    case 'users role':
      await withDatabase(config, logger, (db) =>
        usersRole({
          externalId: command.externalId,
          role: command.role,
          ports: userRolePorts(db),
          find: (externalId) => findUserByExternalId(externalId, db),
          dryRun: command.dryRun,
          confirm: confirmation(command.yes),
          out,
        }),
      );
      return;

    case 'token mint':
      await tokenMint({
        subject: command.subject ?? config.ADMIN_EXTERNAL_ID,
        expiresIn: command.expiresIn,
        environment: { nodeEnv: config.NODE_ENV, jwksUrl: config.JWT_JWKS_URL },
        mint: (subject, options) => mintToken(subject, config, options),
        json: command.json,
        out,
      });
      return;
  }
}

/** The version of the operator CLI: card-api's. */
export function opsVersion(): string {
  const manifest = JSON.parse(readFileSync(path.join(__dirname, '../package.json'), 'utf8')) as {
    version: string;
  };
  return manifest.version;
}

/** Runs one operator command line (without `node main-ops.js`), writing its output to `io.out`. */
export async function runOps(argv: readonly string[], io: OpsIo): Promise<void> {
  const { command, verbose } = parseCommand(argv);
  if (command.name === 'help') {
    io.out(command.text);
    return;
  }
  if (command.name === 'version') {
    io.out(`cards-ops ${opsVersion()}`);
    return;
  }
  const config = (io.loadConfig ?? loadConfig)();
  const logger = createLogger({ service: 'card-api-ops', level: verbose ? config.LOG_LEVEL : 'silent' });
  await execute(command, config, logger, io);
}

/** Asks on the terminal; only y or yes (any case) confirms. */
async function askOnTerminal(question: string): Promise<boolean> {
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await prompt.question(`${question} [y/N] `)).trim());
  } finally {
    prompt.close();
  }
}

/** SIGINT/SIGTERM as an abort signal; a second one exits at once, without waiting for a clean disconnect. */
function processInterrupts(): AbortSignal {
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (controller.signal.aborted) {
      process.stderr.write(`main-ops: ${signal} again: exiting without a clean disconnect\n`);
      process.exit(1);
    }
    controller.abort(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return controller.signal;
}

/**
 * The operator CLI as the main program (`cards-ops`, or `node services/card-api/dist/main-ops.js`): nothing but the
 * command's output on stdout; exit 0 when done, 1 when the command failed, 2 when the command line is wrong.
 */
export function main(): void {
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
  runOnce(
    'main-ops',
    async () => {
      try {
        await runOps(process.argv.slice(2), {
          out: (line) => {
            process.stdout.write(`${line}\n`);
          },
          progress: (line) => {
            process.stderr.write(`${line}\n`);
          },
          interrupts: processInterrupts,
          ...(process.stdin.isTTY && { confirm: askOnTerminal }),
        });
      } catch (error) {
        // One line on stderr: multi-line messages (validation details, every bad setting) are folded.
        if (error instanceof ConfigError) {
          throw new Error(`invalid configuration: ${error.problems.join('; ')}`, { cause: error });
        }
        const reported = asCliError(error);
        if (reported instanceof Error) {
          throw new Error(reported.message.replace(/\s*\n\s*/g, '; '), { cause: error });
        }
        throw error;
      }
      // Let stdout drain before runOnce exits the process.
      await new Promise<void>((resolve) =>
        process.stdout.write('', () => {
          resolve();
        }),
      );
    },
    { exitCodeFor: (error) => (error instanceof Error && error.cause instanceof UsageError ? 2 : 1) },
  );
}

if (require.main === module) {
  main();
}
