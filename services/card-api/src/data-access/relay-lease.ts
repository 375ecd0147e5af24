import { hostname } from 'node:os';

import { Client } from 'pg';

import { Channels } from './notifications';
import type { RelaySession } from './outbox.repository';

/** The lock session's application_name: `outbox-relay <host> pid <pid>`. */
export function relaySessionName(host = hostname(), pid = process.pid): string {
  return `outbox-relay ${host} pid ${pid}`.slice(0, 63);
}

/** Any fixed 64-bit number, shared by every relay of this database: whoever holds it is the one active relay. */
export const RELAY_LOCK_KEY = 7_345_002_118;

/**
 * Server-side TCP keepalive of the lock session, in seconds: the database notices a relay whose host vanished within
 * idle + interval × count (about 11 s) and ends its session, which releases the lock to a standby. PostgreSQL's
 * defaults are the OS's: two hours.
 */
const SESSION_KEEPALIVE = { idle: 5, interval: 2, count: 3 };
/**
 * Keepalives only probe a connection with nothing left to send. Under load the server always has something to send
 * the relay (a NOTIFY for every outbox write), so a vanished host's unacknowledged notifications were retransmitted
 * for the OS's retry budget (net.ipv4.tcp_retries2: about 15 minutes) while the lock stayed held. TCP_USER_TIMEOUT
 * bounds that too, in milliseconds; the same 11 s (a partition of the relay's host showed it: no take-over in 60 s).
 */
const SESSION_USER_TIMEOUT_MS =
  (SESSION_KEEPALIVE.idle + SESSION_KEEPALIVE.interval * SESSION_KEEPALIVE.count) * 1000;

/**
 * The right to be the one active relay: a database session holding the relay's advisory lock and listening for
 * outbox writes. Fencing: the relay reads and marks rows on `session` only, never through a pool, so once the
 * session is gone (and a standby may hold the lock) the old relay cannot read another batch.
 */
export interface RelayLease {
  /** The session that holds the lock; every read and mark of the outbox goes through it. */
  readonly session: RelaySession;
  /** True once the session failed: the lock may already be a standby's, so the holder must stop publishing. */
  readonly lost: boolean;
  /** Ends the session, which releases the lock; safe to call twice and after the session was lost. */
  release(): Promise<void>;
}

export interface RelayLeaseOptions {
  databaseUrl: string;
  /**
   * How long a query on the lock session may take before the session counts as lost (10 s by default). A session
   * that died silently (a dropped link, a vanished host) otherwise hangs its next query for the OS's TCP timeouts,
   * minutes, while the server may already have released the lock to a standby.
   */
  sessionTimeoutMs?: number;
  /** The session failed (see `RelayLease.lost`). */
  onLost: (error: Error) => void;
  /** Rows were written to the outbox (a NOTIFY on its channel). */
  onOutboxWritten: () => void;
}

/**
 * Opens a session and tries to take the relay's lock: a lease when this relay is now the active one, undefined when
 * another holds the lock (the session is then closed). Throws when the database cannot be reached, with nothing left
 * open.
 */
export async function tryAcquireRelayLease(options: RelayLeaseOptions): Promise<RelayLease | undefined> {
  const session = new Client({
    connectionString: options.databaseUrl,
    connectionTimeoutMillis: 5000,
    // Named after this relay's host and pid, so `cards-ops outbox status` and the console (pg_stat_activity) show
    // which replica holds the relay lock. PostgreSQL keeps 63 bytes of it.
    application_name: relaySessionName(),
    keepAlive: true,
    keepAliveInitialDelayMillis: 5000,
    // Client side: a query unanswered this long means the session is gone (see sessionTimeoutMs).
    query_timeout: options.sessionTimeoutMs ?? 10_000,
  });
  let lost = false;
  session.on('error', (error) => {
    lost = true;
    options.onLost(error);
  });
  let ended: Promise<void> | undefined;
  const release = (): Promise<void> => (ended ??= session.end().catch(() => undefined));
  try {
    await session.connect();
    await session.query(
      /* sql */ `SELECT set_config('tcp_keepalives_idle', $1, false), set_config('tcp_keepalives_interval', $2, false),
                        set_config('tcp_keepalives_count', $3, false), set_config('tcp_user_timeout', $4, false)`,
      [
        String(SESSION_KEEPALIVE.idle),
        String(SESSION_KEEPALIVE.interval),
        String(SESSION_KEEPALIVE.count),
        String(SESSION_USER_TIMEOUT_MS),
      ],
    );
    const result = await session.query<{ locked: boolean }>(
      /* sql */ 'SELECT pg_try_advisory_lock($1) AS locked',
      [RELAY_LOCK_KEY],
    );
    if (!result.rows[0]?.locked) {
      await release();
      return undefined;
    }
    session.on('notification', () => {
      options.onOutboxWritten();
    });
    await session.query(`LISTEN ${session.escapeIdentifier(Channels.outbox)}`);
  } catch (error) {
    await release();
    throw error;
  }
  return {
    session,
    get lost() {
      return lost;
    },
    release,
  };
}
