import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';

import type { EventPublisher, Logger } from '@cards/platform';
import type { Knex } from 'knex';
import { Client } from 'pg';

import { Channels } from '../../data-access/notifications';
import {
  deletePublishedBefore,
  fetchUnpublished,
  markPublished,
  recordPublishFailure,
} from '../../data-access/outbox.repository';

/** Any fixed 64-bit number, shared by every relay of this database: whoever holds it is the one active relay. */
export const RELAY_LOCK_KEY = 7_345_002_118;

export interface OutboxRelayOptions {
  db: Knex;
  databaseUrl: string;
  publisher: EventPublisher;
  logger: Logger;
  batchSize: number;
  pollIntervalMs: number;
  /**
   * After a batch that was not full, how long the read of the next one waits, so rows gather into one batch (a
   * read, a send and a mark each) instead of the relay spinning on one or two rows at a time.
   */
  lingerMs?: number;
  retentionHours: number;
  /** How often the relay prunes published rows past the retention. */
  cleanupIntervalMs?: number;
}

/** Signals for tests and metrics. */
export interface RelaySignals {
  leader: [];
  standby: [];
  /** The relay let go of the lock (session lost, failed or stopping): it publishes nothing until `leader`. */
  'leadership-lost': [];
  published: [count: number];
  'publish-failed': [error: unknown];
}

/**
 * Publishes the outbox to Kafka. One relay at a time holds a session-level advisory lock and publishes in id
 * order, which keeps every card's events in order; others wait as hot standbys and take over within a poll
 * interval when the holder's session ends. Woken by NOTIFY, with polling as the fallback. At-least-once: a row is
 * marked published only after Kafka acknowledged it, so a crash in between publishes it again. Reading, sending and
 * marking overlap (see `publishWhileLeading`).
 */
export class OutboxRelay {
  readonly signals = new EventEmitter<RelaySignals>();
  private stopping = false;
  private wake: (() => void) | undefined;
  /** A wake-up that came while the relay was busy; the next idle() returns at once instead of losing it. */
  private wakeRequested = false;
  private loop: Promise<void> | undefined;
  private session: Client | undefined;
  private lastCleanup = 0;

  constructor(private readonly options: OutboxRelayOptions) {}

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.requestWake();
    await this.loop;
  }

  /** Read through a method: `stop()` flips the flag while `run()` awaits, which narrowing cannot see. */
  private isStopping(): boolean {
    return this.stopping;
  }

  private async run(): Promise<void> {
    const log = this.options.logger.child({ component: 'outbox-relay' });
    let announcedStandby = false;
    let leading = false;
    while (!this.stopping) {
      const session = new Client({
        connectionString: this.options.databaseUrl,
        connectionTimeoutMillis: 5000,
        // Named, so `ops outbox status` (pg_stat_activity) shows which session holds the relay lock.
        application_name: 'outbox-relay',
        keepAlive: true,
      });
      const connection = { lost: false };
      session.on('error', (error) => {
        connection.lost = true;
        log.warn({ err: error }, 'relay session lost');
        this.requestWake();
      });
      try {
        await session.connect();
        const result = await session.query<{ locked: boolean }>(
          /* sql */ 'SELECT pg_try_advisory_lock($1) AS locked',
          [RELAY_LOCK_KEY],
        );
        if (!result.rows[0]?.locked) {
          if (!announcedStandby) {
            log.info('another relay is active; standing by');
            this.signals.emit('standby');
            announcedStandby = true;
          }
          await session.end();
          await this.idle(this.options.pollIntervalMs);
          continue;
        }
        announcedStandby = false;
        this.session = session;
        session.on('notification', () => {
          this.requestWake();
        });
        await session.query(`LISTEN ${session.escapeIdentifier(Channels.outbox)}`);
        log.info('active relay');
        leading = true;
        this.signals.emit('leader');
        await this.publishWhileLeading(log, connection);
      } catch (error) {
        log.warn({ err: error }, 'relay cycle failed; retrying');
        await this.idle(Math.min(this.options.pollIntervalMs, 1000));
      } finally {
        this.session = undefined;
        // Ending the session releases the advisory lock, so a standby takes over.
        await session.end().catch(() => undefined);
        if (leading) {
          leading = false;
          this.signals.emit('leadership-lost');
        }
      }
    }
  }

  /**
   * Publishes until stopped or the session is lost, as a pipeline: while batch N is being sent, batch N+1 is read
   * and batch N-1 is marked, so the broker and the database work at the same time. Batches still go out one send at
   * a time in id order, and a row is marked only after Kafka acknowledged it. The read-ahead leaves out every row
   * not yet marked (the batch being sent and the one being marked), so nothing goes out twice. When a send fails,
   * the read-ahead is dropped and reading starts again from the database once the marks in flight are done, so
   * nothing in flight is lost or overtaken.
   */
  private async publishWhileLeading(log: Logger, connection: { lost: boolean }): Promise<void> {
    const { db, batchSize, publisher } = this.options;
    /** The batch sent last, being marked while the next one is sent. */
    let marking: { ids: string[]; done: Promise<void> } | undefined;
    // A function, so the checks after each await read the flags afresh (narrowing cannot see them change).
    const leading = (): boolean => !this.isStopping() && !connection.lost;
    try {
      let batch = await fetchUnpublished(batchSize, db);
      while (leading()) {
        if (batch.length === 0) {
          await marking?.done;
          marking = undefined;
          await this.cleanupIfDue(log);
          await this.idle(this.options.pollIntervalMs);
          if (!leading()) {
            break;
          }
          batch = await fetchUnpublished(batchSize, db);
          continue;
        }
        const ids = batch.map((entry) => entry.id);
        const previous = marking;
        marking = undefined;
        const [sent, readAhead, marked] = await Promise.allSettled([
          publisher.publish(batch.map((entry) => entry.event)),
          this.lingerIfNotFull(batch.length).then(() =>
            fetchUnpublished(batchSize, db, previous ? [...previous.ids, ...ids] : ids),
          ),
          previous?.done,
        ]);
        if (marked.status === 'rejected') {
          // Its rows and this batch's went out but stay unmarked: the next cycle sends them again (at least once).
          throw marked.reason;
        }
        if (sent.status === 'rejected') {
          await this.publishFailed(log, ids, sent.reason);
          batch = await fetchUnpublished(batchSize, db);
          continue;
        }
        marking = { ids, done: this.mark(ids) };
        if (readAhead.status === 'rejected') {
          throw readAhead.reason;
        }
        batch = readAhead.value;
        await this.cleanupIfDue(log);
      }
    } catch (error) {
      // Leave with nothing in flight: rows sent before the failure are marked if the database lets us.
      await marking?.done.catch(() => undefined);
      throw error;
    }
    // Stopping or the session lost: the batch sent last is marked before the relay lets go of the lock.
    await marking?.done;
  }

  /** Waits `lingerMs` after a batch that was not full (rows trickle in), unless stopping; at once after a full one. */
  private async lingerIfNotFull(rows: number): Promise<void> {
    const lingerMs = this.options.lingerMs ?? 0;
    if (lingerMs > 0 && rows < this.options.batchSize && !this.isStopping()) {
      await sleep(lingerMs);
    }
  }

  /** Marks a sent batch published; the returned promise is never left unhandled while the next batch is sent. */
  private mark(ids: string[]): Promise<void> {
    const done = markPublished(ids, this.options.db).then(() => {
      this.signals.emit('published', ids.length);
    });
    done.catch(() => undefined);
    return done;
  }

  /** Records a failed send and backs off; the caller reads again from the database. */
  private async publishFailed(log: Logger, ids: readonly string[], error: unknown): Promise<void> {
    log.warn({ err: error, rows: ids.length }, 'publish failed; will retry');
    this.signals.emit('publish-failed', error);
    await recordPublishFailure(
      ids,
      error instanceof Error ? error.message : String(error),
      this.options.db,
    ).catch(() => undefined);
    await this.idle(500);
  }

  private async cleanupIfDue(log: Logger): Promise<void> {
    const interval = this.options.cleanupIntervalMs ?? 60_000;
    if (Date.now() - this.lastCleanup < interval) {
      return;
    }
    this.lastCleanup = Date.now();
    const before = new Date(Date.now() - this.options.retentionHours * 3_600_000);
    const deleted = await deletePublishedBefore(before, this.options.db);
    if (deleted > 0) {
      log.info({ deleted }, 'pruned published outbox rows');
    }
  }

  private requestWake(): void {
    if (this.wake) {
      this.wake();
    } else {
      this.wakeRequested = true;
    }
  }

  /** Sleeps until woken (NOTIFY, stop, lost session) or `ms` pass; returns at once if woken while busy. */
  private async idle(ms: number): Promise<void> {
    if (this.stopping || this.wakeRequested) {
      this.wakeRequested = false;
      return;
    }
    const controller = new AbortController();
    this.wake = () => {
      controller.abort();
    };
    await sleep(ms, undefined, { signal: controller.signal }).catch(() => undefined);
    this.wake = undefined;
  }
}
