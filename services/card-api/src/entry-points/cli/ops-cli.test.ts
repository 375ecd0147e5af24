import type { ReconciliationReport } from '../../domain/reconcile';
import { runOps, USAGE } from '../../main-ops';
import { formatDeadLetter, topicPair, type DeadLetter } from './dlq.commands';
import { formatReport } from './reconcile.command';

/** Runs a command line and returns what it printed, or the error it failed with. */
async function ops(argv: string[]): Promise<{ lines: string[]; error?: Error }> {
  const lines: string[] = [];
  try {
    await runOps(argv, {
      out: (line) => lines.push(line),
      loadConfig: () => {
        throw new Error('config must not be read');
      },
    });
    return { lines };
  } catch (error) {
    return { lines, error: error as Error };
  }
}

describe('main-ops command line', () => {
  it('when --help is given, or nothing at all, then it prints the usage and needs no configuration', async () => {
    expect(await ops(['--help'])).toEqual({ lines: [USAGE] });
    expect(await ops([])).toEqual({ lines: [USAGE] });
    expect(USAGE).toContain('dlq replay <topic> (--id <ce_id> | --offset <n> [--partition <p>] | --all)');
  });

  it('when --help follows a command, then only that command is explained, with the common options', async () => {
    const replay = (await ops(['dlq', 'replay', 'x', '-h'])).lines.join('\n');
    const dlq = (await ops(['help', 'dlq'])).lines.join('\n');

    expect(replay).toMatch(/^Usage: cards-ops dlq replay …/);
    expect(replay).toContain('dlq replay <topic> (--id <ce_id>');
    expect(replay).not.toContain('dlq list');
    expect(replay).not.toContain('topics tail');
    expect(replay).toContain('--verbose');
    expect(dlq).toContain('dlq list <topic>');
    expect(dlq).toContain('dlq replay <topic>');
    expect(dlq).not.toContain('cards show');
    // A word that is no command gets the whole usage.
    expect(await ops(['frobnicate', '--help'])).toEqual({ lines: [USAGE] });
  });

  it("when --version is given, then it prints card-api's version and needs no configuration", async () => {
    expect(await ops(['--version'])).toEqual({ lines: [expect.stringMatching(/^cards-ops \d+\.\d+\.\d+$/)] });
  });

  it('when an unknown option is given, then it fails with one line pointing at --help', async () => {
    const unknown = await ops(['reconcile', '--frobnicate']);
    expect(unknown.error?.message).toMatch(/frobnicate.*\(see --help\)$/);
    expect(unknown.error?.message).not.toContain('\n');
  });

  it('when a command line is wrong, then it is refused before any configuration is read or connection made', async () => {
    expect((await ops(['cards', 'show', 'nope'])).error?.message).toBe(
      'cards show needs a card id (a UUID), got "nope" (see --help)',
    );
    expect((await ops(['topics', 'tail'])).error?.message).toBe('topics tail needs a topic (see --help)');
    expect((await ops(['users', 'create'])).error?.message).toMatch(/^users create needs --external-id/);
    expect((await ops(['outbox', 'status'])).error?.message).toBe('config must not be read');
  });

  it('when --help is given, then every command is listed', async () => {
    const [usage] = (await ops(['--help'])).lines;

    for (const command of [
      'topics tail',
      'dlq list',
      'dlq replay',
      'outbox status',
      'cards show',
      'reconcile',
    ]) {
      expect(usage).toContain(`\n  ${command} `);
    }
    expect(usage).toContain('users create --external-id <id> --email <email> [--admin]');
    expect(usage).toContain('token mint [<sub>] [--expires-in <n>(s|m|h|d)]');
  });
});

describe('topicPair', () => {
  it('when given a topic with or without .dlq, then both names come back', () => {
    expect(topicPair('cards.provisioning.results.v1')).toEqual({
      topic: 'cards.provisioning.results.v1',
      dlq: 'cards.provisioning.results.v1.dlq',
    });
    expect(topicPair('cards.provisioning.results.v1.dlq')).toEqual(
      topicPair('cards.provisioning.results.v1'),
    );
  });
});

describe('formatDeadLetter', () => {
  it('when a dead letter has a multi-line reason, then it still prints on one line with the reason quoted last', () => {
    const letter: DeadLetter = {
      topic: 't.dlq',
      partition: 2,
      offset: '7',
      key: 'poison',
      value: '{not json',
      rawHeaders: {},
      headers: {},
      ceId: null,
      ceType: 'card.provisioned',
      reason: 'invalid envelope:\n  ce_id: required',
      attempts: '0',
      failedAt: '2026-01-01T00:00:00.000Z',
    };

    const line = formatDeadLetter(letter);

    expect(line).toBe(
      'partition=2 offset=7 key=poison ce_id=- ce_type=card.provisioned dlq-attempts=0 ' +
        'dlq-failed-at=2026-01-01T00:00:00.000Z dlq-reason="invalid envelope:\\n  ce_id: required"',
    );
  });
});

describe('formatReport', () => {
  it('when a run found differences, then each gets a line and the actions are totalled', () => {
    const report: ReconciliationReport = {
      runId: 'run-1',
      window: { from: '2026-01-01T00:00:00.000Z', to: '2026-01-02T00:00:00.000Z' },
      dryRun: false,
      examined: { providerCards: 3, localCards: 3 },
      matched: 1,
      inFlight: 1,
      differences: [
        {
          kind: 'local-card-failed',
          cardId: 'c1',
          providerCardId: 'pc1',
          localStatus: 'FAILED',
          providerStatus: 'ACTIVE',
          action: 'cancel-requested',
        },
      ],
      actions: {
        'cancel-requested': 1,
        'cancel-requested-again': 0,
        'cancel-already-requested': 0,
        'would-request-cancel': 0,
        'skipped-another-run-is-repairing': 0,
        reported: 0,
      },
      complete: true,
      covered: { from: '2026-01-01T00:00:00.000Z', to: '2026-01-02T00:00:00.000Z' },
      unverified: [],
    };

    expect(formatReport(report)).toEqual([
      'reconciliation run-1',
      'window: 2026-01-01T00:00:00.000Z .. 2026-01-02T00:00:00.000Z',
      'complete: yes',
      'examined: 3 provider card(s), 3 local card(s)',
      'matched: 1, in flight (ours PENDING): 1',
      'differences: 1',
      '  local-card-failed card=c1 provider_card=pc1 local=FAILED provider=ACTIVE -> cancel-requested',
      'actions: cancel-requested=1',
    ]);
  });

  it('when the provider could not be read in full, then the report says so, what was covered and what was not verified', () => {
    const report: ReconciliationReport = {
      runId: 'run-2',
      window: { from: '2026-01-01T00:00:00.000Z', to: '2026-01-02T00:00:00.000Z' },
      dryRun: false,
      examined: { providerCards: 1000, localCards: 1001 },
      matched: 1000,
      inFlight: 0,
      differences: [],
      actions: {
        'cancel-requested': 0,
        'cancel-requested-again': 0,
        'cancel-already-requested': 0,
        'would-request-cancel': 0,
        'skipped-another-run-is-repairing': 0,
        reported: 0,
      },
      complete: false,
      incompleteReason:
        'provider card list failed before 2026-01-01T18:00:00.000Z: gave up after 9 attempt(s): HTTP 500',
      covered: { from: '2026-01-01T18:00:00.000Z', to: '2026-01-02T00:00:00.000Z' },
      unverified: [{ cardId: 'c9', providerCardId: 'pc9' }],
    };

    expect(formatReport(report)).toEqual(
      expect.arrayContaining([
        'complete: no, covered 2026-01-01T18:00:00.000Z .. 2026-01-02T00:00:00.000Z (provider card list failed before 2026-01-01T18:00:00.000Z: gave up after 9 attempt(s): HTTP 500)',
        '  unverified card=c9 provider_card=pc9 (its provider card could not be read)',
      ]),
    );
  });
});
