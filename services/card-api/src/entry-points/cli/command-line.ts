import { parseArgs } from 'node:util';

import { CreateUserRequestSchema } from '@cards/contracts';
import { z } from 'zod';

import type { ReplaySelection } from '../../domain/replay-dead-letters';

export const USAGE = `Usage: cards-ops <command> [options]
   (npx cards-ops from the repository, after make build; or node services/card-api/dist/main-ops.js,
   or make ops ARGS='<command> [options]')

Commands:
  topics tail <topic> [--from-beginning] [--card <id>] [--json] [--max <n>] [--idle-exit <ms>]
      Follow a topic until Ctrl-C (SIGINT/SIGTERM): one line per message, each decoded and checked against the
      contracts (INVALID and the reason when it fails); dead letters show their dlq-* headers.
      --from-beginning  start at the oldest message instead of the end.
      --card <id>       only messages whose subject (card id) is <id>.
      --max <n>         stop after printing n messages; --idle-exit <ms>: stop when none arrives for ms.
  topics partitions <topic> [--json]
      Each partition of <topic>: its low and high-water marks and how many messages it holds.
  consumers lag [--json]
      The lag of this system's consumer groups (provider-worker's, the card-events consumer's) per partition, and
      the member (client id and host) that owns each partition now.
  consumers reset <group> <topic> --to <earliest|latest> [--dry-run] [--yes]
      Move a group's committed offsets on <topic> to its earliest or latest message. Refused while the group has
      members: stop its consumers first. Asks first, on a terminal; elsewhere --yes is needed.
  dlq list <topic> [--card <id>] [--json]
      Print every dead letter of <topic>.dlq, up to its current end; --card: only those of one card.
  dlq replay <topic> (--id <ce_id> | --offset <n> [--partition <p>] | --all) [--dry-run] [--yes] [--json]
      Re-publish dead letters of <topic>.dlq to <topic>, without their dlq-* headers. Asks first, on a terminal;
      elsewhere --yes is needed. --dry-run prints what would be replayed and changes nothing.
  outbox status [--json]
      Unpublished rows (backlog) and the age of the oldest, rows failing to publish and the first one's error,
      quarantined rows, rows published in the last minute, and which database session holds the relay lock.
  outbox quarantined [--json]
      The rows the relay set aside (their event breaks the contract, or they failed alone too often): why, when,
      how many later rows of the same card wait behind each, and (with --json) the stored event.
  outbox release <id> [--event-file <path>] [--dry-run] [--yes]
      Hand a quarantined row back to the relay, attempts reset; --event-file replaces its event with a fixed one
      (JSON; checked against the contract, and its id, type and subject must stay the same). Asks first, on a
      terminal; elsewhere --yes is needed. --dry-run checks the row and the fix and changes nothing.
  cards show <id> [--json]
      A card (status, owner, details, failure, timestamps) and its saga timeline: outbox events written and
      published, results received and what they did, compensation.
  cards stuck [--older-than <seconds>] [--json]
      Cards still PENDING after <seconds> (default ADMIN_STUCK_PENDING_SECONDS), oldest first, at most 100.
  reconcile [--hours N] [--dry-run] [--yes] [--json]
      Compare the provider's cards created in the last N hours (default RECONCILIATION_WINDOW_HOURS) with ours;
      request cancellation of provider cards that should not be active; report the rest. Asks before repairing,
      on a terminal; elsewhere --yes (or --dry-run, which repairs nothing) is needed.
  users create --external-id <id> --email <email> [--admin] [--dry-run] [--yes] [--json]
      Create a user (role user, or admin with --admin), with an audit row. Asks first, on a terminal; elsewhere
      --yes is needed. --dry-run checks the user could be created and changes nothing.
  users role <external-id> --role <user|admin> [--dry-run] [--yes]
      Give a user another role, with an audit row. Asks first, on a terminal; elsewhere --yes is needed.
  token mint [<sub>] [--expires-in <n>(s|m|h|d)] [--json]
      Print a development token for <sub> (default ADMIN_EXTERNAL_ID), valid 12h unless --expires-in says
      otherwise. Refused with NODE_ENV=production.

Options:
  -h, --help     Show this help; after a command, that command's help only.
  --version      Print the version.
  --json         Machine-readable output (one JSON document per line), where the command lists it.
  --verbose      Also print the process's logs (LOG_LEVEL).

A <topic> is a topic's name, or commands / results for the provisioning topics this environment is configured
with (TOPIC_PROVISIONING_COMMANDS / _RESULTS); add .dlq for a dead-letter topic.
Output goes to stdout, progress (lines starting with #) of long-running commands to stderr. Exit status: 0 done,
1 the command failed (one line on stderr), 2 the command line is wrong (one line on stderr, nothing was done).
Environment: the card-api settings (DATABASE_URL, KAFKA_BROKERS, PROVIDER_URL, ...; see .env.example).`;

/** Thrown for a command line that cannot be run; the message says what to change. */
export class UsageError extends Error {
  constructor(message: string) {
    super(`${message} (see --help)`);
    this.name = 'UsageError';
  }
}

/**
 * The help of one command: its entries of USAGE's command list (every action of `dlq` for `dlq`, only `dlq replay`
 * for `dlq replay`), then the options every command takes. Undefined for a word that is no command.
 */
export function commandUsage(words: readonly string[]): string | undefined {
  const list = USAGE.slice(
    USAGE.indexOf('Commands:\n') + 'Commands:\n'.length,
    USAGE.indexOf('\n\nOptions:'),
  );
  const entries = list.split(/\n(?= {2}\S)/);
  const wanted = words.join(' ');
  const matching = entries.filter((entry) => {
    const name = entry.trim();
    return name === wanted || name.startsWith(`${wanted} `);
  });
  if (words.length === 0 || matching.length === 0) {
    return undefined;
  }
  const options = USAGE.slice(USAGE.indexOf('\n\nOptions:'), USAGE.indexOf('\n\nA <topic>'));
  return `Usage: cards-ops ${wanted} …\n\n${matching.join('\n')}${options}`;
}

/** A command line, checked and typed; nothing has been read or connected yet. */
export type OpsCommand =
  | { name: 'help'; text: string }
  | { name: 'version' }
  | { name: 'reconcile'; hours: number | undefined; dryRun: boolean; yes: boolean; json: boolean }
  | { name: 'dlq list'; topic: string; card: string | undefined; json: boolean }
  | { name: 'topics partitions'; topic: string; json: boolean }
  | { name: 'consumers lag'; json: boolean }
  | {
      name: 'consumers reset';
      group: string;
      topic: string;
      to: 'earliest' | 'latest';
      dryRun: boolean;
      yes: boolean;
    }
  | { name: 'cards stuck'; olderThanSeconds: number | undefined; json: boolean }
  | {
      name: 'dlq replay';
      topic: string;
      selection: ReplaySelection;
      dryRun: boolean;
      yes: boolean;
      json: boolean;
    }
  | {
      name: 'topics tail';
      topic: string;
      fromBeginning: boolean;
      card: string | undefined;
      json: boolean;
      max: number | undefined;
      idleExitMs: number | undefined;
    }
  | { name: 'outbox status'; json: boolean }
  | { name: 'outbox quarantined'; json: boolean }
  | { name: 'outbox release'; id: string; eventFile: string | undefined; dryRun: boolean; yes: boolean }
  | { name: 'cards show'; cardId: string; json: boolean }
  | {
      name: 'users create';
      externalId: string;
      email: string;
      role: 'user' | 'admin';
      dryRun: boolean;
      yes: boolean;
      json: boolean;
    }
  | { name: 'users role'; externalId: string; role: 'user' | 'admin'; dryRun: boolean; yes: boolean }
  | { name: 'token mint'; subject: string | undefined; expiresIn: string | undefined; json: boolean };

const options = {
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
  json: { type: 'boolean' },
  verbose: { type: 'boolean' },
  'dry-run': { type: 'boolean' },
  yes: { type: 'boolean', short: 'y' },
  hours: { type: 'string' },
  id: { type: 'string' },
  offset: { type: 'string' },
  partition: { type: 'string' },
  all: { type: 'boolean' },
  'from-beginning': { type: 'boolean' },
  card: { type: 'string' },
  max: { type: 'string' },
  'idle-exit': { type: 'string' },
  'external-id': { type: 'string' },
  email: { type: 'string' },
  admin: { type: 'boolean' },
  'expires-in': { type: 'string' },
  'event-file': { type: 'string' },
  to: { type: 'string' },
  'older-than': { type: 'string' },
  role: { type: 'string' },
} as const;

type OptionName = keyof typeof options;
type Values = ReturnType<typeof parse>['values'];

/** Options every command takes. */
const COMMON: readonly OptionName[] = ['help', 'verbose'];

function parse(argv: readonly string[]) {
  try {
    return parseArgs({ args: [...argv], allowPositionals: true, strict: true, options });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

/** An option given to a command that has no use for it is a mistake worth naming, not something to ignore. */
function allowOnly(command: string, values: Values, allowed: readonly OptionName[]): void {
  const stray = (Object.keys(values) as OptionName[]).find(
    (name) => !COMMON.includes(name) && !allowed.includes(name),
  );
  if (stray !== undefined) {
    throw new UsageError(`${command} does not take --${stray}`);
  }
}

/** --dry-run and --yes, which every command that changes state takes (see confirmation.ts). */
function changeOptions(values: Values): { dryRun: boolean; yes: boolean } {
  return { dryRun: values['dry-run'] ?? false, yes: values.yes ?? false };
}

function noMoreArguments(extra: readonly string[]): void {
  if (extra.length > 0) {
    throw new UsageError(`unexpected argument ${extra.join(' ')}`);
  }
}

function wholeNumber(value: string, name: string, bounds: { min: number; max: number }): number {
  const number = Number(value);
  if (!/^\d+$/.test(value) || number < bounds.min || number > bounds.max) {
    throw new UsageError(`${name} must be a whole number from ${bounds.min} to ${bounds.max} (got ${value})`);
  }
  return number;
}

function replaySelection(values: Values): ReplaySelection {
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

const CardId = z.uuid();

function cardId(value: string, name: string): string {
  if (!CardId.safeParse(value).success) {
    throw new UsageError(`${name} needs a card id (a UUID), got ${JSON.stringify(value)}`);
  }
  return value.toLowerCase();
}

function subcommand<T extends string>(command: string, action: string | undefined, actions: readonly T[]): T {
  if (action === undefined || !(actions as readonly string[]).includes(action)) {
    const choices = actions.join(' or ');
    throw new UsageError(`${command} needs ${choices}${action === undefined ? '' : `, not ${action}`}`);
  }
  return action as T;
}

/** Reads a command line (without `node main-ops.js`) into a command, or throws a UsageError saying what is wrong. */
export function parseCommand(argv: readonly string[]): { command: OpsCommand; verbose: boolean } {
  const { values, positionals } = parse(argv);
  const verbose = values.verbose ?? false;
  const json = values.json ?? false;
  const [command, ...rest] = positionals;
  if (values.version) {
    return { command: { name: 'version' }, verbose };
  }
  // No command at all, `help [command]`, or --help anywhere: the help, of the command when one is named.
  if (command === undefined || command === 'help' || values.help) {
    const words = command === 'help' ? rest : positionals;
    const topic = words.slice(0, 2);
    const text = commandUsage(topic) ?? commandUsage(topic.slice(0, 1)) ?? USAGE;
    return { command: { name: 'help', text }, verbose };
  }

  switch (command) {
    case 'reconcile': {
      allowOnly(command, values, ['hours', 'dry-run', 'yes', 'json']);
      noMoreArguments(rest);
      const hours =
        values.hours === undefined
          ? undefined
          : wholeNumber(values.hours, '--hours', { min: 1, max: 24 * 90 });
      return {
        command: {
          name: 'reconcile',
          hours,
          ...changeOptions(values),
          json,
        },
        verbose,
      };
    }

    case 'dlq': {
      const [given, topic, ...extra] = rest;
      const action = subcommand(command, given, ['list', 'replay'] as const);
      allowOnly(
        `dlq ${action}`,
        values,
        action === 'list' ? ['json', 'card'] : ['id', 'offset', 'partition', 'all', 'dry-run', 'yes', 'json'],
      );
      if (topic === undefined) {
        throw new UsageError(`dlq ${action} needs a topic`);
      }
      noMoreArguments(extra);
      return action === 'list'
        ? {
            command: {
              name: 'dlq list',
              topic,
              card: values.card === undefined ? undefined : cardId(values.card, '--card'),
              json,
            },
            verbose,
          }
        : {
            command: {
              name: 'dlq replay',
              topic,
              selection: replaySelection(values),
              ...changeOptions(values),
              json,
            },
            verbose,
          };
    }

    case 'topics': {
      const [given, topic, ...extra] = rest;
      const action = subcommand(command, given, ['tail', 'partitions'] as const);
      if (action === 'partitions') {
        allowOnly('topics partitions', values, ['json']);
        if (topic === undefined) {
          throw new UsageError('topics partitions needs a topic');
        }
        noMoreArguments(extra);
        return { command: { name: 'topics partitions', topic, json }, verbose };
      }
      allowOnly('topics tail', values, ['from-beginning', 'card', 'max', 'idle-exit', 'json']);
      if (topic === undefined) {
        throw new UsageError('topics tail needs a topic');
      }
      noMoreArguments(extra);
      return {
        command: {
          name: 'topics tail',
          topic,
          fromBeginning: values['from-beginning'] ?? false,
          card: values.card === undefined ? undefined : cardId(values.card, '--card'),
          json,
          max: values.max === undefined ? undefined : wholeNumber(values.max, '--max', { min: 1, max: 1e9 }),
          idleExitMs:
            values['idle-exit'] === undefined
              ? undefined
              : wholeNumber(values['idle-exit'], '--idle-exit', { min: 1, max: 86_400_000 }),
        },
        verbose,
      };
    }

    case 'outbox': {
      const [given, ...extra] = rest;
      const action = subcommand(command, given, ['status', 'quarantined', 'release'] as const);
      if (action === 'release') {
        allowOnly('outbox release', values, ['event-file', 'dry-run', 'yes']);
        const [id, ...more] = extra;
        if (id === undefined) {
          throw new UsageError('outbox release needs an outbox row id');
        }
        noMoreArguments(more);
        const rowId = String(wholeNumber(id, 'outbox release', { min: 1, max: Number.MAX_SAFE_INTEGER }));
        return {
          command: {
            name: 'outbox release',
            id: rowId,
            eventFile: values['event-file'],
            ...changeOptions(values),
          },
          verbose,
        };
      }
      allowOnly(`outbox ${action}`, values, ['json']);
      noMoreArguments(extra);
      return { command: { name: `outbox ${action}`, json }, verbose };
    }

    case 'consumers': {
      const [given, group, topic, ...extra] = rest;
      const action = subcommand(command, given, ['lag', 'reset'] as const);
      if (action === 'lag') {
        allowOnly('consumers lag', values, ['json']);
        noMoreArguments(rest.slice(1));
        return { command: { name: 'consumers lag', json }, verbose };
      }
      allowOnly('consumers reset', values, ['to', 'dry-run', 'yes']);
      if (group === undefined || topic === undefined) {
        throw new UsageError('consumers reset needs a group and a topic');
      }
      noMoreArguments(extra);
      if (values.to !== 'earliest' && values.to !== 'latest') {
        throw new UsageError('consumers reset needs --to earliest or --to latest');
      }
      return {
        command: {
          name: 'consumers reset',
          group,
          topic,
          to: values.to,
          ...changeOptions(values),
        },
        verbose,
      };
    }

    case 'cards': {
      const [given, id, ...extra] = rest;
      const action = subcommand(command, given, ['show', 'stuck'] as const);
      if (action === 'stuck') {
        allowOnly('cards stuck', values, ['older-than', 'json']);
        noMoreArguments(rest.slice(1));
        const olderThanSeconds =
          values['older-than'] === undefined
            ? undefined
            : wholeNumber(values['older-than'], '--older-than', { min: 0, max: 86_400 * 90 });
        return { command: { name: 'cards stuck', olderThanSeconds, json }, verbose };
      }
      allowOnly('cards show', values, ['json']);
      if (id === undefined) {
        throw new UsageError('cards show needs a card id');
      }
      noMoreArguments(extra);
      return { command: { name: 'cards show', cardId: cardId(id, 'cards show'), json }, verbose };
    }

    case 'users': {
      const [given, ...extra] = rest;
      const action = subcommand(command, given, ['create', 'role'] as const);
      if (action === 'role') {
        allowOnly('users role', values, ['role', 'dry-run', 'yes']);
        const [externalId, ...more] = extra;
        if (externalId === undefined) {
          throw new UsageError('users role needs an external id');
        }
        noMoreArguments(more);
        if (values.role !== 'user' && values.role !== 'admin') {
          throw new UsageError('users role needs --role user or --role admin');
        }
        return {
          command: {
            name: 'users role',
            externalId,
            role: values.role,
            ...changeOptions(values),
          },
          verbose,
        };
      }
      allowOnly('users create', values, ['external-id', 'email', 'admin', 'dry-run', 'yes', 'json']);
      noMoreArguments(extra);
      if (values['external-id'] === undefined || values.email === undefined) {
        throw new UsageError('users create needs --external-id <id> and --email <email>');
      }
      // The same rules as POST /v1/admin/users, so a user made here is one the API could have made.
      const user = CreateUserRequestSchema.safeParse({
        externalId: values['external-id'],
        email: values.email,
      });
      if (!user.success) {
        const issue = user.error.issues[0];
        const option = issue?.path[0] === 'email' ? '--email' : '--external-id';
        throw new UsageError(`${option}: ${issue?.message ?? 'invalid'}`);
      }
      return {
        command: {
          name: 'users create',
          externalId: user.data.externalId,
          email: user.data.email,
          role: values.admin ? 'admin' : 'user',
          ...changeOptions(values),
          json,
        },
        verbose,
      };
    }

    case 'token': {
      const [given, subject, ...extra] = rest;
      subcommand(command, given, ['mint'] as const);
      allowOnly('token mint', values, ['expires-in', 'json']);
      noMoreArguments(extra);
      const expiresIn = values['expires-in'];
      if (expiresIn !== undefined && !/^[1-9]\d{0,5}[smhd]$/.test(expiresIn)) {
        throw new UsageError(`--expires-in must look like 30m, 1h or 7d (got ${expiresIn})`);
      }
      return { command: { name: 'token mint', subject, expiresIn, json }, verbose };
    }

    default:
      throw new UsageError(`unknown command ${command}`);
  }
}
