import { parseCommand } from './command-line';

const CARD = '0b6f1c9e-5a4e-4d8e-9d7e-2f1a3b4c5d6e';

/** The command a line parses to, or the message of the error it is refused with. */
function parsed(line: string): unknown {
  try {
    return parseCommand(line.split(' ').filter(Boolean)).command;
  } catch (error) {
    return (error as Error).message;
  }
}

describe('parseCommand', () => {
  it('when topics tail is given its options, then they come back typed', () => {
    expect(
      parsed(`topics tail results.dlq --from-beginning --card ${CARD.toUpperCase()} --json --max 3`),
    ).toEqual({
      name: 'topics tail',
      topic: 'results.dlq',
      fromBeginning: true,
      card: CARD,
      json: true,
      max: 3,
      idleExitMs: undefined,
    });
    expect(parsed('topics tail t --idle-exit 1500')).toMatchObject({
      fromBeginning: false,
      card: undefined,
      idleExitMs: 1500,
    });
  });

  it('when topics tail lacks a topic or gets a bad value, then the error says which and points at --help', () => {
    expect(parsed('topics tail')).toBe('topics tail needs a topic (see --help)');
    expect(parsed('topics follow t')).toBe('topics needs tail or partitions, not follow (see --help)');
    expect(parsed('topics tail t --card 42')).toBe('--card needs a card id (a UUID), got "42" (see --help)');
    expect(parsed('topics tail t --max 0')).toBe(
      '--max must be a whole number from 1 to 1000000000 (got 0) (see --help)',
    );
  });

  it('when an option belongs to another command, then it is refused rather than ignored', () => {
    expect(parsed('outbox status --card x')).toBe('outbox status does not take --card (see --help)');
    expect(parsed(`dlq replay t --all --card ${CARD}`)).toBe('dlq replay does not take --card (see --help)');
    expect(parsed('reconcile --from-beginning')).toBe(
      'reconcile does not take --from-beginning (see --help)',
    );
  });

  it('when outbox status and cards show are given, then they parse; a card id that is no UUID is refused', () => {
    expect(parsed('outbox status --json')).toEqual({ name: 'outbox status', json: true });
    expect(parsed(`cards show ${CARD}`)).toEqual({ name: 'cards show', cardId: CARD, json: false });
    expect(parsed('cards show')).toBe('cards show needs a card id (see --help)');
    expect(parsed('cards show nope')).toBe('cards show needs a card id (a UUID), got "nope" (see --help)');
    expect(parsed(`cards show ${CARD} extra`)).toBe('unexpected argument extra (see --help)');
  });

  it('when the outbox quarantine commands are given, then they parse; a release needs a row id and takes --event-file, --dry-run and --yes', () => {
    expect(parsed('outbox quarantined --json')).toEqual({ name: 'outbox quarantined', json: true });
    expect(parsed('outbox release 42 --event-file fixed.json')).toEqual({
      name: 'outbox release',
      id: '42',
      eventFile: 'fixed.json',
      dryRun: false,
      yes: false,
    });
    expect(parsed('outbox release 42 --dry-run -y')).toEqual({
      name: 'outbox release',
      id: '42',
      eventFile: undefined,
      dryRun: true,
      yes: true,
    });
    expect(parsed('outbox release')).toBe('outbox release needs an outbox row id (see --help)');
    expect(parsed('outbox release x1')).toBe(
      'outbox release must be a whole number from 1 to 9007199254740991 (got x1) (see --help)',
    );
    expect(parsed('outbox release 42 --json')).toBe('outbox release does not take --json (see --help)');
    expect(parsed('outbox purge')).toBe(
      'outbox needs status or quarantined or release, not purge (see --help)',
    );
  });

  it('when users create is given, then it follows the admin API rules for the external id and email', () => {
    expect(parsed('users create --external-id alice --email alice@example.com --admin')).toEqual({
      name: 'users create',
      externalId: 'alice',
      email: 'alice@example.com',
      role: 'admin',
      dryRun: false,
      yes: false,
      json: false,
    });
    expect(parsed('users create --external-id alice')).toBe(
      'users create needs --external-id <id> and --email <email> (see --help)',
    );
    expect(parsed('users create --external-id alice --email nope')).toMatch(/^--email: .*\(see --help\)$/);
  });

  it('when token mint is given, then the subject is optional and --expires-in must be a short duration', () => {
    expect(parsed('token mint')).toEqual({
      name: 'token mint',
      subject: undefined,
      expiresIn: undefined,
      json: false,
    });
    expect(parsed('token mint alice --expires-in 1h')).toMatchObject({ subject: 'alice', expiresIn: '1h' });
    expect(parsed('token mint alice --expires-in forever')).toBe(
      '--expires-in must look like 30m, 1h or 7d (got forever) (see --help)',
    );
  });

  it('when the existing commands are given, then they parse as before', () => {
    expect(parsed('reconcile --hours 2 --dry-run')).toEqual({
      name: 'reconcile',
      hours: 2,
      dryRun: true,
      yes: false,
      json: false,
    });
    expect(parsed('reconcile --yes')).toMatchObject({ dryRun: false, yes: true });
    expect(parsed('dlq list t --json')).toEqual({
      name: 'dlq list',
      topic: 't',
      card: undefined,
      json: true,
    });
    expect(parsed('dlq replay t --offset 7 --partition 1')).toEqual({
      name: 'dlq replay',
      topic: 't',
      selection: { offset: '7', partition: 1 },
      dryRun: false,
      yes: false,
      json: false,
    });
    expect(parsed('dlq replay t --all --dry-run --yes')).toMatchObject({ dryRun: true, yes: true });
    expect(parsed('dlq replay t')).toBe(
      'dlq replay needs exactly one of --id <ce_id>, --offset <n> or --all (see --help)',
    );
  });

  it('when the consumer, partition and stuck-card commands are given, then they parse; a reset needs --to', () => {
    expect(parsed('consumers lag --json')).toEqual({ name: 'consumers lag', json: true });
    expect(parsed('consumers reset g results --to latest --dry-run')).toEqual({
      name: 'consumers reset',
      group: 'g',
      topic: 'results',
      to: 'latest',
      dryRun: true,
      yes: false,
    });
    expect(parsed('consumers reset g results')).toBe(
      'consumers reset needs --to earliest or --to latest (see --help)',
    );
    expect(parsed('consumers reset g')).toBe('consumers reset needs a group and a topic (see --help)');
    expect(parsed('consumers lag extra')).toBe('unexpected argument extra (see --help)');
    expect(parsed('topics partitions results')).toEqual({
      name: 'topics partitions',
      topic: 'results',
      json: false,
    });
    expect(parsed(`dlq list results --card ${CARD}`)).toEqual({
      name: 'dlq list',
      topic: 'results',
      card: CARD,
      json: false,
    });
    expect(parsed('cards stuck --older-than 60 --json')).toEqual({
      name: 'cards stuck',
      olderThanSeconds: 60,
      json: true,
    });
    expect(parsed('cards stuck')).toEqual({ name: 'cards stuck', olderThanSeconds: undefined, json: false });
    expect(parsed('cards stuck --older-than soon')).toBe(
      '--older-than must be a whole number from 0 to 7776000 (got soon) (see --help)',
    );
  });

  it('when users role is given, then it needs an external id and --role user or admin', () => {
    expect(parsed('users role alice --role admin --yes')).toEqual({
      name: 'users role',
      externalId: 'alice',
      role: 'admin',
      dryRun: false,
      yes: true,
    });
    expect(parsed('users role --role admin')).toBe('users role needs an external id (see --help)');
    expect(parsed('users role alice --role root')).toBe(
      'users role needs --role user or --role admin (see --help)',
    );
    expect(parsed('users promote alice')).toBe('users needs create or role, not promote (see --help)');
  });
});
