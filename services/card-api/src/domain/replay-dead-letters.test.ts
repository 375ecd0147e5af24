import type { AuditEntry, AuditLog } from './audit';
import {
  DeadLetterNotFound,
  replayDeadLetters,
  selectDeadLetters,
  type DeadLetterArchive,
  type DeadLetterRef,
} from './replay-dead-letters';

const actor = { actorUserId: 'u-1', actorExternalId: 'admin', requestId: 'req-1' };
const letter = (partition: number, offset: string, ceId: string): DeadLetterRef => ({
  partition,
  offset,
  key: `k-${offset}`,
  ceId,
  ceType: 'card.provisioned',
});

function archiveOf(letters: DeadLetterRef[]): DeadLetterArchive & { calls: number } {
  const archive = {
    calls: 0,
    replay(topic: string, selection: Parameters<DeadLetterArchive['replay']>[1]) {
      archive.calls += 1;
      return Promise.resolve({
        topic,
        dlq: `${topic}.dlq`,
        replayed: selectDeadLetters(letters, selection, `${topic}.dlq`),
      });
    },
  };
  return archive;
}

function auditInto(entries: AuditEntry[]): AuditLog {
  return {
    append: (entry) => {
      entries.push(entry);
      return Promise.resolve();
    },
  };
}

describe('replayDeadLetters', () => {
  it('when letters are replayed, then one audit row names the actor, the topics, the selection and the count', async () => {
    const entries: AuditEntry[] = [];

    const outcome = await replayDeadLetters({ topic: 'results', selection: { all: true } }, actor, {
      deadLetters: archiveOf([letter(0, '1', 'a'), letter(1, '1', 'b')]),
      audit: auditInto(entries),
    });

    expect(outcome.replayed.map((replayed) => replayed.ceId)).toEqual(['a', 'b']);
    expect(entries).toEqual([
      {
        ...actor,
        action: 'dead-letter.replay',
        target: 'results',
        details: { deadLetterTopic: 'results.dlq', selection: { all: true }, replayed: 2 },
      },
    ]);
  });

  it('when nothing was replayed, then nothing is audited', async () => {
    const entries: AuditEntry[] = [];

    const outcome = await replayDeadLetters({ topic: 'results', selection: { all: true } }, actor, {
      deadLetters: archiveOf([]),
      audit: auditInto(entries),
    });

    expect(outcome.replayed).toEqual([]);
    expect(entries).toEqual([]);
  });

  it('when the selection names no letter, then DeadLetterNotFound says which, and nothing is audited', async () => {
    const entries: AuditEntry[] = [];

    await expect(
      replayDeadLetters({ topic: 'results', selection: { id: 'missing' } }, actor, {
        deadLetters: archiveOf([letter(0, '1', 'a')]),
        audit: auditInto(entries),
      }),
    ).rejects.toThrow(DeadLetterNotFound);
    await expect(
      replayDeadLetters({ topic: 'results', selection: { id: 'missing' } }, actor, {
        deadLetters: archiveOf([letter(0, '1', 'a')]),
        audit: auditInto(entries),
      }),
    ).rejects.toMatchObject({
      code: 'DEAD_LETTER_NOT_FOUND',
      kind: 'not-found',
      details: { detail: 'no dead letter on results.dlq has ce_id missing' },
    });
    expect(entries).toEqual([]);
  });

  it('when the audit row cannot be written, then the failure is reported to auditNotWritten, or thrown without it', async () => {
    const broken: AuditLog = { append: () => Promise.reject(new Error('database away')) };
    const reported: unknown[] = [];

    const outcome = await replayDeadLetters({ topic: 'results', selection: { id: 'a' } }, actor, {
      deadLetters: archiveOf([letter(0, '1', 'a')]),
      audit: broken,
      auditNotWritten: (error) => reported.push(error),
    });
    expect(outcome.replayed).toHaveLength(1);
    expect(reported).toEqual([new Error('database away')]);

    await expect(
      replayDeadLetters({ topic: 'results', selection: { id: 'a' } }, actor, {
        deadLetters: archiveOf([letter(0, '1', 'a')]),
        audit: broken,
      }),
    ).rejects.toThrow('database away');
  });
});

describe('selectDeadLetters', () => {
  const letters = [letter(0, '7', 'a'), letter(1, '7', 'b'), letter(0, '8', 'a')];

  it('when an event id was dead-lettered twice, then the newest copy is chosen', () => {
    expect(selectDeadLetters(letters, { id: 'a' }, 'dlq')).toEqual([letter(0, '8', 'a')]);
  });

  it('when an offset exists in two partitions and none is named, then it asks for one', () => {
    expect(() => selectDeadLetters(letters, { offset: '7' }, 'dlq')).toThrow(
      'offset 7 exists in partitions 0, 1 of dlq: add --partition <n>',
    );
    expect(selectDeadLetters(letters, { offset: '7', partition: 1 }, 'dlq')).toEqual([letter(1, '7', 'b')]);
  });

  it('when an offset names nothing, then DeadLetterNotFound names the offset and partition', () => {
    const thrown = (() => {
      try {
        return selectDeadLetters(letters, { offset: '9', partition: 0 }, 'dlq');
      } catch (error) {
        return error;
      }
    })();
    expect(thrown).toBeInstanceOf(DeadLetterNotFound);
    expect(thrown).toMatchObject({ details: { detail: 'no dead letter on dlq at offset 9 in partition 0' } });
  });
});
