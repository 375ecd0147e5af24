import type { AuditEntry } from '../../domain/audit';
import type { UserRecord } from '../../domain/card';
import type { CreateUserPorts } from '../../domain/create-user';
import { tokenMint, usersCreate } from './users-and-tokens.commands';

/** A users table and audit log that answer `inserted` and record what was audited. */
function fakeStore(inserted: UserRecord | undefined): { ports: CreateUserPorts; audited: AuditEntry[] } {
  const audited: AuditEntry[] = [];
  const ports: CreateUserPorts = {
    transaction: (work) =>
      work({
        users: { insert: () => Promise.resolve(inserted) },
        audit: {
          append: (entry) => {
            audited.push(entry);
            return Promise.resolve();
          },
        },
      }),
  };
  return { ports, audited };
}

const development = { nodeEnv: 'development', jwksUrl: undefined };
/** An operator who says yes. */
const yes = (): Promise<boolean> => Promise.resolve(true);

describe('users create', () => {
  it('when the external id is free, then the user is printed; when taken, it fails naming it', async () => {
    const lines: string[] = [];
    const user = { externalId: 'alice', email: 'alice@example.com', role: 'user' as const };
    const created = { ...user, id: 'u-1', createdAt: new Date('2026-03-01T10:00:00.000Z') };

    const store = fakeStore(created);
    await usersCreate({ user, ports: store.ports, confirm: yes, out: (line) => lines.push(line) });

    expect(lines).toEqual([
      'created user alice: id=u-1 role=user email=alice@example.com created_at=2026-03-01T10:00:00.000Z',
    ]);
    expect(store.audited).toEqual([
      {
        actorUserId: null,
        actorExternalId: 'ops-cli',
        requestId: null,
        action: 'user.create',
        target: 'u-1',
        details: { externalId: 'alice', role: 'user' },
      },
    ]);
    const taken = fakeStore(undefined);
    await expect(
      usersCreate({ user, ports: taken.ports, confirm: yes, out: () => undefined }),
    ).rejects.toThrow('a user with external id "alice" already exists');
    expect(taken.audited).toEqual([]);
  });
});

describe('token mint', () => {
  it('when minting in development, then the token for the subject and lifetime is printed', async () => {
    const lines: string[] = [];
    const mint = jest.fn((_subject: string, _options: { expiresIn?: string }) => Promise.resolve('a.b.c'));

    await tokenMint({
      subject: 'alice',
      expiresIn: '1h',
      environment: development,
      mint,
      out: (line) => lines.push(line),
    });

    expect(mint).toHaveBeenCalledWith('alice', { expiresIn: '1h' });
    expect(lines).toEqual(['a.b.c']);
  });

  it('when NODE_ENV is production or tokens are verified with a key set, then it refuses and mints nothing', async () => {
    const mint = jest.fn(() => Promise.resolve('a.b.c'));

    await expect(
      tokenMint({
        subject: 'a',
        environment: { nodeEnv: 'production', jwksUrl: undefined },
        mint,
        out: () => undefined,
      }),
    ).rejects.toThrow('refusing to mint a development token with NODE_ENV=production');
    await expect(
      tokenMint({
        subject: 'a',
        environment: { nodeEnv: 'development', jwksUrl: 'https://idp.example/jwks' },
        mint,
        out: () => undefined,
      }),
    ).rejects.toThrow(/^JWT_JWKS_URL is set/);
    expect(mint).not.toHaveBeenCalled();
  });
});
