import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';

import { checkEvent } from '@cards/contracts';
import { type EventPublisher } from '@cards/messaging';
import { isAvailabilityError, type Logger } from '@cards/runtime';
import type { Knex } from 'knex';

import {
  deletePublishedBefore,
  fetchUnpublished,
  markPublished,
  quarantineRow,
  recordPublishOutage,
  recordRowFailure,
  type OutboxEntry,
  type RelaySession,
} from '../../data-access/outbox.repository';
import { tryAcquireRelayLease, type RelayLease } from '../../data-access/relay-lease';

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
  /** A row that fails this many sends of its own (not outages) is quarantined (5 by default). */
  quarantineAfterAttempts?: number;
  /** How long a query on the lock session may take before the session counts as lost (see RelayLeaseOptions). */
  sessionTimeoutMs?: number;
}

/** Signals for tests and metrics. */
export interface RelaySignals {
  leader: [];
  standby: [];
  /** The relay let go of the lock (session lost, failed or stopping): it publishes nothing until `leader`. */
  'leadership-lost': [];
  published: [count: number];
  'publish-failed': [error: unknown];
  /** A row set aside until an operator releases it: its event breaks the contract, or it failed alone too often. */
  quarantined: [id: string, reason: string];
}

/**
 * Publishes the outbox to Kafka. One relay at a time holds the relay lease (data-access/relay-lease.ts) and publishes
 * in id order, which keeps every card's events in order; others wait as hot standbys and take over within a poll
 * interval when the holder's session ends. Woken by NOTIFY, with polling as the fallback. At-least-once: a row is
 * marked published only after Kafka acknowledged it, so a crash in between publishes it again. Reading, sending and
 * marking overlap (see `publishWhileLeading`).
 *
 * Fencing: rows are read and marked through the lease's session only, so a relay whose lease is lost cannot read
 * another batch; the most it can do is finish sending the one batch in hand, a duplicate that at-least-once delivery
 * and every consumer's inbox absorb.
 *
 * One bad row does not stop the relay: each row's event is checked against the contract before it is sent (one that
 * fails is quarantined at once), and a batch whose send fails for a reason other than Kafka being away is sent
 * again row by row, so the row at fault is found and, after `quarantineAfterAttempts` failures, quarantined.
 */
export class OutboxRelay {
  readonly signals = new EventEmitter<RelaySignals>();
  private stopping = false;
  private wake: (() => void) | undefined;
  /** A wake-up that came while the relay was busy; the next idle() returns at once instead of losing it. */
  private wakeRequested = false;
  private loop: Promise<void> | undefined;
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
      let lease: RelayLease | undefined;
      try {
        lease = await tryAcquireRelayLease({
          databaseUrl: this.options.databaseUrl,
          ...(this.options.sessionTimeoutMs !== undefined && {
            sessionTimeoutMs: this.options.sessionTimeoutMs,
          }),
          onLost: (error) => {
            log.warn({ err: error }, 'relay session lost');
            this.requestWake();
          },
          onOutboxWritten: () => {
            this.requestWake();
          },
        });
        if (!lease) {
          if (!announcedStandby) {
            log.info('another relay is active; standing by');
            this.signals.emit('standby');
            announcedStandby = true;
          }
          await this.idle(this.options.pollIntervalMs);
          continue;
        }
        announcedStandby = false;
        log.info('active relay');
        leading = true;
        this.signals.emit('leader');
        await this.publishWhileLeading(log, lease);
      } catch (error) {
        log.warn({ err: error }, 'relay cycle failed; retrying');
        await this.idle(Math.min(this.options.pollIntervalMs, 1000));
      } finally {
        // Releasing the lease lets a standby take over.
        await lease?.release();
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
  private async publishWhileLeading(log: Logger, lease: RelayLease): Promise<void> {
    const { batchSize, publisher } = this.options;
    const { session } = lease;
    /** The batch sent last, being marked while the next one is sent. */
    let marking: { ids: string[]; done: Promise<void> } | undefined;
    // A function, so the checks after each await read the flags afresh (narrowing cannot see them change).
    const leading = (): boolean => !this.isStopping() && !lease.lost;
    const read = async (exclude?: readonly string[]): Promise<OutboxEntry[]> =>
      this.setAsideInvalid(log, session, await fetchUnpublished(batchSize, session, exclude));
    try {
      let batch = await read();
      while (leading()) {
        if (batch.length === 0) {
          await marking?.done;
          marking = undefined;
          await this.cleanupIfDue(log);
          await this.idle(this.options.pollIntervalMs);
          if (!leading()) {
            break;
          }
          batch = await read();
          continue;
        }
        const ids = batch.map((entry) => entry.id);
        const previous = marking;
        marking = undefined;
        const [sent, readAhead, marked] = await Promise.allSettled([
          publisher.publish(batch.map((entry) => entry.event)),
          this.lingerIfNotFull(batch.length).then(() => read(previous ? [...previous.ids, ...ids] : ids)),
          previous?.done,
        ]);
        if (marked.status === 'rejected') {
          // Its rows and this batch's went out but stay unmarked: the next cycle sends them again (at least once).
          throw marked.reason;
        }
        if (sent.status === 'rejected') {
          await this.publishFailed(log, session, batch, sent.reason);
          batch = await read();
          continue;
        }
        marking = { ids, done: this.mark(ids, session) };
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

  /**
   * Quarantines the rows whose event breaks the contract (it could never be published as it is) and leaves them
   * out, with the later rows of their keys, which wait behind them.
   */
  private async setAsideInvalid(
    log: Logger,
    session: RelaySession,
    rows: readonly OutboxEntry[],
  ): Promise<OutboxEntry[]> {
    const blockedKeys = new Set<string>();
    const publishable: OutboxEntry[] = [];
    for (const row of rows) {
      if (blockedKeys.has(row.key)) {
        continue;
      }
      const checked = checkEvent(row.event);
      if (checked.ok) {
        publishable.push(row);
        continue;
      }
      blockedKeys.add(row.key);
      const reason = `breaks the event contract: ${checked.reason}`;
      await quarantineRow(row.id, reason, session);
      log.error({ outboxId: row.id, key: row.key, reason }, 'outbox row quarantined');
      this.signals.emit('quarantined', row.id, reason);
    }
    return publishable;
  }

  /** Waits `lingerMs` after a batch that was not full (rows trickle in), unless stopping; at once after a full one. */
  private async lingerIfNotFull(rows: number): Promise<void> {
    const lingerMs = this.options.lingerMs ?? 0;
    if (lingerMs > 0 && rows < this.options.batchSize && !this.isStopping()) {
      await sleep(lingerMs);
    }
  }

  /** Marks a sent batch published; the returned promise is never left unhandled while the next batch is sent. */
  private mark(ids: string[], session: RelaySession): Promise<void> {
    const done = markPublished(ids, session).then(() => {
      this.signals.emit('published', ids.length);
    });
    done.catch(() => undefined);
    return done;
  }

  /**
   * After a failed send: Kafka being away is noted on the rows (not counted against them) and waited out; any other
   * failure is narrowed down by sending the batch again row by row, in order, up to the first row that fails alone,
   * which is charged the attempt (and quarantined after `quarantineAfterAttempts`). The caller reads again from the
   * database, so rows sent here are not sent twice and nothing overtakes the failing row.
   */
  private async publishFailed(
    log: Logger,
    session: RelaySession,
    batch: readonly OutboxEntry[],
    error: unknown,
  ): Promise<void> {
    this.signals.emit('publish-failed', error);
    if (isAvailabilityError(error) || batch.length === 0) {
      log.warn({ err: error, rows: batch.length }, 'publish failed, Kafka unavailable; will retry');
      await recordPublishOutage(
        batch.map((entry) => entry.id),
        describe(error),
        session,
      );
      await this.idle(500);
      return;
    }
    log.warn(
      { err: error, rows: batch.length },
      'publish failed; sending the batch row by row to find the cause',
    );
    for (const entry of batch) {
      try {
        await this.options.publisher.publish([entry.event]);
      } catch (rowError) {
        if (isAvailabilityError(rowError)) {
          await recordPublishOutage([entry.id], describe(rowError), session);
          await this.idle(500);
          return;
        }
        const quarantineAfter = this.options.quarantineAfterAttempts ?? 5;
        const reason = describe(rowError);
        if (await recordRowFailure(entry.id, reason, quarantineAfter, session)) {
          log.error({ outboxId: entry.id, key: entry.key, reason }, 'outbox row quarantined');
          this.signals.emit('quarantined', entry.id, reason);
        } else {
          log.warn({ outboxId: entry.id, key: entry.key, reason }, 'outbox row failed to publish alone');
          await this.idle(500);
        }
        return;
      }
      await markPublished([entry.id], session);
      this.signals.emit('published', 1);
    }
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

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
