import { setTimeout as sleep } from 'node:timers/promises';

import type { Logger } from '@cards/runtime';
import type { Knex } from 'knex';
import { Client, type Notification } from 'pg';

import type { CardRecord } from '../domain/card';

/** LISTEN/NOTIFY channels. Payloads are hints only: a listener always re-reads the database. */
export const Channels = {
  /** The outbox has new rows; wakes the relay. */
  outbox: 'outbox_written',
  /** Comma-separated ids of cards that changed; wakes long-polls. */
  cardChanged: 'card_changed',
} as const;

/** PostgreSQL caps a NOTIFY payload just under 8000 bytes. */
const MAX_PAYLOAD_BYTES = 7900;

/**
 * Sends NOTIFY as a coalesced hint: every hint within `delayMs` becomes one NOTIFY (or a few, if the ids exceed a
 * payload), sent after the writers' transactions, never inside them. NOTIFY takes a global lock at commit, so one
 * per row on the hot path would serialise every commit in the database (DESIGN.md, Known traps).
 */
export class CoalescingNotifier {
  private readonly pending = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: Knex,
    private readonly channel: string,
    private readonly logger: Logger,
    private readonly delayMs = 10,
  ) {}

  /** Asks for a NOTIFY soon, carrying `ids` (or none). */
  hint(ids: readonly string[] = []): void {
    for (const id of ids) {
      this.pending.add(id);
    }
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.flushing = this.flushing.then(() => this.flush());
    }, this.delayMs);
  }

  /** Sends what is pending now; used at shutdown. */
  async close(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
      this.flushing = this.flushing.then(() => this.flush());
    }
    await this.flushing;
  }

  private async flush(): Promise<void> {
    const ids = [...this.pending];
    this.pending.clear();
    const payloads: string[] = [];
    let current = '';
    for (const id of ids) {
      if (current.length > 0 && current.length + id.length + 1 > MAX_PAYLOAD_BYTES) {
        payloads.push(current);
        current = '';
      }
      current = current.length > 0 ? `${current},${id}` : id;
    }
    payloads.push(current);
    try {
      for (const payload of payloads) {
        await this.db.raw(/* sql */ 'SELECT pg_notify(?, ?)', [this.channel, payload]);
      }
    } catch (error) {
      // A lost hint only delays the listener until its polling fallback; never fail the caller for it.
      this.logger.warn({ err: error, channel: this.channel }, 'notify failed');
    }
  }
}

/**
 * A dedicated connection that LISTENs on channels and reconnects with backoff when it drops. After a reconnect it
 * calls `onReconnect`, because notifications sent while it was away are lost: listeners must re-read.
 */
export class PgListener {
  private client: Client | undefined;
  private stopped = false;
  private readonly ready: Promise<void>;

  constructor(
    private readonly options: {
      url: string;
      channels: readonly string[];
      logger: Logger;
      onNotification: (channel: string, payload: string) => void;
      onReconnect?: () => void;
    },
  ) {
    this.ready = this.connectLoop(false);
  }

  /** Resolves once the first LISTEN is in place. */
  started(): Promise<void> {
    return this.ready;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.client?.end().catch(() => undefined);
  }

  private async connectLoop(isReconnect: boolean): Promise<void> {
    for (let attempt = 0; !this.stopped; attempt++) {
      const client = new Client({ connectionString: this.options.url, connectionTimeoutMillis: 5000 });
      try {
        await client.connect();
        for (const channel of this.options.channels) {
          await client.query(`LISTEN ${client.escapeIdentifier(channel)}`);
        }
      } catch (error) {
        await client.end().catch(() => undefined);
        this.options.logger.warn({ err: error, attempt }, 'LISTEN connection failed; retrying');
        await sleep(Math.min(5000, 100 * 2 ** attempt));
        continue;
      }
      this.client = client;
      client.on('notification', (message: Notification) => {
        this.options.onNotification(message.channel, message.payload ?? '');
      });
      client.on('error', (error) => {
        this.options.logger.warn({ err: error }, 'LISTEN connection lost; reconnecting');
        void client.end().catch(() => undefined);
        if (this.client === client && !this.stopped) {
          this.client = undefined;
          void this.connectLoop(true);
        }
      });
      if (isReconnect) {
        this.options.onReconnect?.();
      }
      return;
    }
  }
}

/** A waiter's resolver: the card as read after the change, or undefined (timed out, aborted, or the read failed). */
type Wake = (card: CardRecord | undefined) => void;

/**
 * Long-polls waiting for a card to change, woken by `card_changed` notifications. One notification reads every
 * notified card that has waiters in ONE query (`readCards`, `id = ANY($1)`) and hands each waiter its card, so a
 * wake-up costs one round trip however many waiters it answers, instead of one read per waiter.
 */
export class CardChangeWaiters {
  private readonly waiters = new Map<string, Set<Wake>>();

  constructor(
    private readonly readCards: (ids: readonly string[]) => Promise<CardRecord[]>,
    private readonly logger?: Logger,
  ) {}

  /**
   * Resolves with the card when `cardId` changes, or with undefined after `timeoutMs` or when `signal` aborts,
   * whichever comes first. Subscribe before reading the card, so a change between the two cannot be missed.
   */
  wait(cardId: string, timeoutMs: number, signal?: AbortSignal): Promise<CardRecord | undefined> {
    return new Promise((resolve) => {
      if (signal?.aborted) {
        resolve(undefined);
        return;
      }
      const set = this.waiters.get(cardId) ?? new Set<Wake>();
      this.waiters.set(cardId, set);
      const done: Wake = (card) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        set.delete(done);
        if (set.size === 0 && this.waiters.get(cardId) === set) {
          this.waiters.delete(cardId);
        }
        resolve(card);
      };
      const onAbort = (): void => {
        done(undefined);
      };
      const timer = setTimeout(onAbort, Math.max(0, timeoutMs));
      signal?.addEventListener('abort', onAbort);
      set.add(done);
    });
  }

  /**
   * Wakes the waiters of these cards, each with its card: the cards that have waiters are read in one query. When
   * that read fails, the waiters are woken with undefined and read for themselves (and meet the error).
   */
  notify(cardIds: Iterable<string>): Promise<void> {
    const woken = new Map<string, Wake[]>();
    for (const cardId of cardIds) {
      const set = this.waiters.get(cardId);
      if (set && !woken.has(cardId)) {
        // Taken now: a waiter that subscribes after this notification waits for the next one.
        woken.set(cardId, [...set]);
      }
    }
    if (woken.size === 0) {
      return Promise.resolve();
    }
    return this.readCards([...woken.keys()]).then(
      (cards) => {
        const byId = new Map(cards.map((card) => [card.id, card]));
        for (const [cardId, wakes] of woken) {
          for (const wake of wakes) {
            wake(byId.get(cardId));
          }
        }
      },
      (error: unknown) => {
        this.logger?.warn({ err: error, cards: woken.size }, 'reading changed cards for long-polls failed');
        for (const wakes of woken.values()) {
          for (const wake of wakes) {
            wake(undefined);
          }
        }
      },
    );
  }

  /** Wakes everyone (after a lost LISTEN connection): each gets its card as it is now. */
  wakeAll(): Promise<void> {
    return this.notify([...this.waiters.keys()]);
  }

  get size(): number {
    let total = 0;
    for (const set of this.waiters.values()) {
      total += set.size;
    }
    return total;
  }
}
