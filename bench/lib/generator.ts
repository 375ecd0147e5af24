import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';

import { LOG_DIR } from './processes.ts';
import { setLoadGeneratorPid } from './resources.ts';
import type { Percentiles } from './stats.ts';

/** What happened to one card a client asked for; times in ms from its scheduled send (`at`: from the job's start). */
export interface Journey {
  at: number;
  /** When its request was scheduled, in ms since the epoch (the database's timestamps are compared with it). */
  scheduledEpochMs: number;
  /**
   * Scheduled send → the answer to the POST, the synchronous design only: ours asks with `Prefer: wait`, so its
   * POST answers when the card is terminal, and its accept is read from the card's created_at instead.
   */
  acceptMs?: number;
  terminalMs?: number;
  cardId?: string;
  status?: string;
  /** Why the card was not accepted: an HTTP status or an error message. */
  error?: string;
  /** Long-polls that failed (answered other than 200, or not at all); the client polls again, as a real one would. */
  pollErrors: number;
  /** The first failed long-poll's reason. */
  pollError?: string;
}

/** A piece of work for the generator process. */
export type GeneratorJob =
  | { kind: 'users'; users: { id: string; sub: string; token: string }[] }
  /** Open loop: a card requested at `rate` per second for `seconds`, each followed until terminal (or drain ends). */
  | {
      kind: 'cards';
      /** Several (the replicas of the replicated profile): cards go to each in turn. */
      apiUrl: string | readonly string[];
      design: 'ours' | 'sync';
      rate: number;
      seconds: number;
      drainSeconds: number;
    }
  /** Closed loop: `concurrency` clients POST /v1/cards back to back for `seconds`. */
  | { kind: 'closed'; url: string; concurrency: number; seconds: number; auth: 'token' | 'user-id' }
  /** The bare two-hop Kafka round trip at `rate` per second (baselines/kafka.ts). */
  | {
      kind: 'two-hop';
      brokers: string[];
      clientId: string;
      topics: [string, string];
      groupPrefix: string;
      rate: number;
      seconds: number;
    }
  /** The bare kafkajs producer: the outbox's rows as the relay would send them, in batches of `batchSize`. */
  | {
      kind: 'produce';
      databaseUrl: string;
      brokers: string[];
      clientId: string;
      topic: string;
      batchSize: number;
    };

export type GeneratorReply =
  | { kind: 'users'; count: number }
  | { kind: 'cards'; sent: number; journeys: Journey[]; sendLagMs: Percentiles }
  | { kind: 'closed'; ok: number; errors: number; seconds: number; latencyMs: Percentiles }
  | { kind: 'produce'; rows: number; seconds: number }
  | { kind: 'two-hop'; sent: number; lost: number; latencyMs: Percentiles; received: number };

type ReplyOf<K extends GeneratorJob['kind']> = Extract<GeneratorReply, { kind: K }>;

/**
 * The load generator's process, seen from the orchestrator: one for the whole run (its JIT and connection pools
 * stay warm between points), its CPU reported by every measurement as the load generator's, its output in
 * .run/bench/logs/load-generator.log.
 */
export class LoadGenerator {
  private nextId = 0;
  private readonly waiting = new Map<
    number,
    { resolve(reply: GeneratorReply): void; reject(error: Error): void }
  >();
  private readonly child: ChildProcess;

  private constructor(child: ChildProcess) {
    this.child = child;
    child.on('message', (message: { id: number; reply?: GeneratorReply; error?: string }) => {
      const entry = this.waiting.get(message.id);
      this.waiting.delete(message.id);
      if (message.reply) {
        entry?.resolve(message.reply);
      } else {
        entry?.reject(new Error(`load generator: ${message.error ?? 'no reply'}`));
      }
    });
    child.on('exit', (code) => {
      for (const entry of this.waiting.values()) {
        entry.reject(
          new Error(`load generator exited (${code}); see ${path.join(LOG_DIR, 'load-generator.log')}`),
        );
      }
      this.waiting.clear();
    });
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  /** Starts the generator process; its CPU counts as the load generator's from now on. */
  static start(): LoadGenerator {
    mkdirSync(LOG_DIR, { recursive: true });
    const log = openSync(path.join(LOG_DIR, 'load-generator.log'), 'w');
    const child = fork(path.join(import.meta.dirname, 'load-generator.ts'), [], {
      stdio: ['ignore', log, log, 'ipc'],
      // Room for the largest runs' journeys in memory; the generator's RSS is not a measured figure.
      execArgv: ['--max-semi-space-size=16'],
    });
    closeSync(log);
    const generator = new LoadGenerator(child);
    setLoadGeneratorPid(child.pid);
    return generator;
  }

  /** Runs one job and resolves with its reply. */
  run<K extends GeneratorJob['kind']>(job: Extract<GeneratorJob, { kind: K }>): Promise<ReplyOf<K>> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, {
        resolve: (reply) => {
          resolve(reply as ReplyOf<K>);
        },
        reject,
      });
      this.child.send({ id, job });
    });
  }

  /** Ends the generator (it closes its connections and exits). */
  async stop(): Promise<void> {
    setLoadGeneratorPid(undefined);
    if (this.child.exitCode !== null || !this.child.connected) {
      return;
    }
    const exited = once(this.child, 'exit');
    this.child.disconnect();
    const killer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(killer);
  }
}
