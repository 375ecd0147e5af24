import type { AuditEntry } from './audit';
import type { UserRecord } from './card';
import { changeUserRole, type ChangeUserRolePorts } from './change-user-role';

const actor = { actorUserId: null, actorExternalId: 'ops-cli', requestId: null };
const alice: UserRecord = {
  id: 'u-1',
  externalId: 'alice',
  email: 'alice@example.com',
  role: 'user',
  createdAt: new Date('2026-01-01T00:00:00Z'),
};

/** A users table holding `users`, and an audit log that keeps its rows, in one unit of work. */
function store(users: UserRecord[]): { ports: ChangeUserRolePorts; audited: AuditEntry[] } {
  const audited: AuditEntry[] = [];
  return {
    audited,
    ports: {
      transaction: (work) =>
        work({
          users: {
            setRole: (externalId, role) => {
              const user = users.find((candidate) => candidate.externalId === externalId);
              if (!user) {
                return Promise.resolve(undefined);
              }
              const previousRole = user.role;
              user.role = role;
              return Promise.resolve({ user: { ...user }, previousRole });
            },
          },
          audit: {
            append: (entry) => {
              audited.push(entry);
              return Promise.resolve();
            },
          },
        }),
    },
  };
}

describe('changeUserRole', () => {
  it('when the role changes, then one audit row says from what to what', async () => {
    const { ports, audited } = store([{ ...alice }]);

    const outcome = await changeUserRole('alice', 'admin', actor, ports);

    expect(outcome).toMatchObject({ user: { role: 'admin' }, previousRole: 'user' });
    expect(audited).toEqual([
      {
        ...actor,
        action: 'user.role-change',
        target: 'u-1',
        details: { externalId: 'alice', from: 'user', to: 'admin' },
      },
    ]);
  });

  it('when the role is the one the user has, then nothing is audited', async () => {
    const { ports, audited } = store([{ ...alice }]);

    await changeUserRole('alice', 'user', actor, ports);

    expect(audited).toEqual([]);
  });

  it('when no user has the external id, then it is USER_NOT_FOUND', async () => {
    const { ports, audited } = store([]);

    await expect(changeUserRole('bob', 'admin', actor, ports)).rejects.toMatchObject({
      code: 'USER_NOT_FOUND',
      kind: 'not-found',
    });
    expect(audited).toEqual([]);
  });
});
