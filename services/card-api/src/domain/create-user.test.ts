import type { AuditEntry } from './audit';
import type { UserRecord } from './card';
import { createUser, UserAlreadyExists, type CreateUserPorts } from './create-user';

const actor = { actorUserId: 'admin-id', actorExternalId: 'admin', requestId: 'req-1' };
const alice = { externalId: 'alice', email: 'alice@example.com', role: 'user' as const };

/** A unit of work that commits its audit rows only when the work returns (as a transaction would). */
function unitOfWork(inserted: UserRecord | undefined): { ports: CreateUserPorts; committed: AuditEntry[] } {
  const committed: AuditEntry[] = [];
  return {
    committed,
    ports: {
      transaction: async (work) => {
        const pending: AuditEntry[] = [];
        const result = await work({
          users: { insert: () => Promise.resolve(inserted) },
          audit: {
            append: (entry) => {
              pending.push(entry);
              return Promise.resolve();
            },
          },
        });
        committed.push(...pending);
        return result;
      },
    },
  };
}

describe('createUser', () => {
  it('when the external id is free, then the user is created and audited with its role in the same unit of work', async () => {
    const created = { ...alice, id: 'u-1', createdAt: new Date('2026-03-01T10:00:00Z') };
    const { ports, committed } = unitOfWork(created);

    await expect(createUser(alice, actor, ports)).resolves.toBe(created);
    expect(committed).toEqual([
      {
        ...actor,
        action: 'user.create',
        target: 'u-1',
        details: { externalId: 'alice', role: 'user' },
      },
    ]);
  });

  it('when the external id is taken, then it is a conflict naming it, and nothing is audited', async () => {
    const { ports, committed } = unitOfWork(undefined);

    const failure = await createUser(alice, actor, ports).catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(UserAlreadyExists);
    expect(failure).toMatchObject({
      code: 'USER_ALREADY_EXISTS',
      kind: 'conflict',
      details: { detail: 'A user with externalId "alice" exists.' },
    });
    expect(committed).toEqual([]);
  });
});
