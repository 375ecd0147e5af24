import { UsageError } from './command-line';

/** Asks the operator whether to go ahead with a change; true only for a yes. */
export type Confirm = (question: string) => Promise<boolean>;

/**
 * The gate in front of every command that changes state: a dry run says what would change and goes no further
 * (false); otherwise the operator is asked (`confirm`: a prompt on a terminal, or yes for --yes), and a no stops the
 * command with nothing changed. With no way to ask and no --yes, it is a usage error: nothing is done unasked.
 */
export async function goAhead(options: {
  command: string;
  /** What would be done, as a phrase: "release outbox row 42 to the relay". */
  change: string;
  dryRun?: boolean | undefined;
  confirm: Confirm | undefined;
  /** Where the dry run's line goes (the command's output). */
  out: (line: string) => void;
}): Promise<boolean> {
  if (options.dryRun) {
    options.out(`# dry run: would ${options.change}; nothing was changed`);
    return false;
  }
  if (!options.confirm) {
    throw new UsageError(
      `${options.command} changes state: confirm on a terminal, or add --yes (${options.change}?)`,
    );
  }
  if (!(await options.confirm(`${options.change}?`))) {
    throw new Error('not confirmed: nothing was changed');
  }
  return true;
}
