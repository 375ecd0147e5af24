import { UsageError } from './command-line';
import { goAhead } from './confirmation';

describe('goAhead', () => {
  const change = 'release outbox row 42 to the relay';

  it('when it is a dry run, then it says what would change, asks nobody and stops', async () => {
    const lines: string[] = [];
    const confirm = jest.fn(() => Promise.resolve(true));

    expect(
      await goAhead({
        command: 'outbox release',
        change,
        dryRun: true,
        confirm,
        out: (line) => lines.push(line),
      }),
    ).toBe(false);
    expect(lines).toEqual(['# dry run: would release outbox row 42 to the relay; nothing was changed']);
    expect(confirm).not.toHaveBeenCalled();
  });

  it('when the operator says yes, then it goes ahead; no, then it stops with nothing changed', async () => {
    const asked: string[] = [];
    const answer = (yes: boolean) => (question: string) => {
      asked.push(question);
      return Promise.resolve(yes);
    };

    expect(
      await goAhead({ command: 'outbox release', change, confirm: answer(true), out: () => undefined }),
    ).toBe(true);
    await expect(
      goAhead({ command: 'outbox release', change, confirm: answer(false), out: () => undefined }),
    ).rejects.toThrow('not confirmed: nothing was changed');
    expect(asked).toEqual([`${change}?`, `${change}?`]);
  });

  it('when there is no way to ask and no --yes, then it is a usage error naming --yes', async () => {
    const refused = goAhead({ command: 'outbox release', change, confirm: undefined, out: () => undefined });

    await expect(refused).rejects.toBeInstanceOf(UsageError);
    await expect(refused).rejects.toThrow(
      'outbox release changes state: confirm on a terminal, or add --yes',
    );
  });
});
