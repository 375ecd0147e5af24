import { checkEvent, type AnyCardEvent } from '@cards/contracts';

import type { QuarantinedRow } from '../../data-access/outbox.repository';
import { goAhead, type Confirm } from './confirmation';
import type { Out } from './dlq.commands';
import { token } from './topics-tail.command';

/** `outbox quarantined [--json]`: the rows the relay set aside, oldest first. */
export async function outboxQuarantinedCommand(options: {
  list: () => Promise<QuarantinedRow[]>;
  json: boolean;
  out: Out;
}): Promise<QuarantinedRow[]> {
  const rows = await options.list();
  for (const row of rows) {
    if (options.json) {
      options.out(
        JSON.stringify({
          ...row,
          createdAt: row.createdAt.toISOString(),
          quarantinedAt: row.quarantinedAt.toISOString(),
        }),
      );
    } else {
      options.out(
        `id=${row.id} type=${token(row.type)} key=${token(row.key)} attempts=${row.attempts} ` +
          `quarantined_at=${row.quarantinedAt.toISOString()} waiting_behind=${row.waitingBehind} ` +
          `error=${JSON.stringify(row.lastError)}`,
      );
    }
  }
  if (rows.length === 0 && !options.json) {
    options.out('no quarantined rows');
  }
  return rows;
}

/** Thrown when a release cannot be done as asked; the message says why. */
export class ReleaseRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReleaseRefusedError';
  }
}

/**
 * `outbox release <id> [--event-file <path>]`: hands a quarantined row back to the relay. A replacement event must
 * pass the contract and keep the row's event id (consumers' inboxes deduplicate by it), type and subject (its key
 * and topic were chosen by them); anything else is refused before the database is touched.
 */
export async function outboxReleaseCommand(options: {
  id: string;
  /** The replacement's text, when one is given. */
  replacementText: string | undefined;
  find: (id: string) => Promise<QuarantinedRow | undefined>;
  release: (id: string, replacement: AnyCardEvent | undefined) => Promise<boolean>;
  /** Check the row and the fix, say what would happen, and change nothing. */
  dryRun?: boolean;
  /** Asked before the row is released; not given: no terminal to ask on and no --yes, so nothing is released. */
  confirm: Confirm | undefined;
  out: Out;
}): Promise<void> {
  const row = await options.find(options.id);
  if (!row) {
    throw new ReleaseRefusedError(`outbox row ${options.id} is not quarantined (or does not exist)`);
  }
  let replacement: AnyCardEvent | undefined;
  if (options.replacementText !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(options.replacementText);
    } catch {
      throw new ReleaseRefusedError('the replacement event is not JSON');
    }
    const checked = checkEvent(parsed);
    if (!checked.ok) {
      throw new ReleaseRefusedError(`the replacement event breaks the contract: ${checked.reason}`);
    }
    const original = row.event as Partial<Record<'id' | 'type' | 'subject', unknown>> | null;
    for (const field of ['id', 'type', 'subject'] as const) {
      if (checked.event[field] !== original?.[field]) {
        throw new ReleaseRefusedError(
          `the replacement event must keep the row's ${field} (${JSON.stringify(original?.[field] ?? null)})`,
        );
      }
    }
    replacement = checked.event;
  }
  const change =
    `release outbox row ${options.id}${replacement ? ' with the fixed event' : ''} and ${row.waitingBehind} ` +
    'row(s) waiting behind it to the relay';
  if (!(await goAhead({ command: 'outbox release', change, ...options }))) {
    return;
  }
  if (!(await options.release(options.id, replacement))) {
    // Released or published by someone else between the read and the update.
    throw new ReleaseRefusedError(`outbox row ${options.id} is no longer quarantined`);
  }
  options.out(
    `released outbox row ${options.id}${replacement ? ' with the fixed event' : ''}; ` +
      `it and ${row.waitingBehind} row(s) waiting behind it go to the relay`,
  );
}
