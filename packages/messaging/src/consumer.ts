import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';

import { decodeEvent, type AnyCardEvent } from '@cards/contracts';
import type { Kafka, KafkaMessage } from 'kafkajs';
import type { Logger } from 'pino';

import { backoffDelayMs, isAvailabilityError } from '@cards/runtime';
import { batchHandler } from './batches';
import { headersToStrings, writeDeadLetter, type DeadLetterPublisher } from './dead-letters';
import type { BatchDelivery, ConsumerSignals, DeliveryContext, MessageOutcome } from './delivery';
import { isDeferredError, isPermanentError } from './error-policy';
import { KafkaEventPublisher } from './publisher';
import { sleepWithHeartbeats, wakeUp } from './retry';

/** A running consumer. */
export interface RunningConsumer {
  signals: EventEmitter<ConsumerSignals>;
  /**
   * Stops fetching from the subscribed topics (a dependency is down, say). Messages already in hand go on; those
   * their handler defers wait for `resume()`.
   */
  pause(): void;
  /** Fetches again, and hands every deferred message to its handler again. */
  resume(): void;
  stop(): Promise<void>;
}

export interface EventConsumerOptions {
  kafka: Kafka;
  groupId: string;
  topics: readonly string[];
  logger: Logger;
  /**
   * Applies one event. Throwing means "not applied": it is retried, then dead-lettered. In batch mode (see
   * `handleBatch`) it is unused.
   */
  handle?: (event: AnyCardEvent, context: DeliveryContext) => Promise<void>;
  /**
   * Batch mode: applies the valid events of one partition's batch, in offset order, all or nothing (one
   * transaction, say). Messages that are not our events are dead-lettered beside the batch without holding it up;
   * a batch that fails is applied again one event at a time, so a poison event is retried and dead-lettered alone
   * while its neighbours are applied. Offsets are committed once per batch, after it is applied.
   */
  handleBatch?: (deliveries: readonly BatchDelivery[]) => Promise<void>;
  /** Batch mode: at most this many events per `handleBatch` call (a larger fetched batch is split). */
  maxBatchSize?: number;
  /** Batch mode: partitions whose batches are applied side by side (each its own call). */
  partitionsConsumedConcurrently?: number;
  /**
   * Errors that no retry can fix (a broken invariant, a rule violation) go straight to the dead-letter topic. By
   * default `isPermanentError` (error-policy.ts): an AppError of a kind no retry changes.
   */
  isPermanent?: (error: unknown) => boolean;
  /**
   * Errors that mean "not now, and not this message's fault" (a dependency known to be down). Such a message is
   * neither retried in place, nor counted as an attempt, nor dead-lettered, nor committed: it waits until
   * `resume()` (when the consumer is paused) or `retryBackoffMs` (when not), then goes to its handler again. If the
   * consumer stops meanwhile, the message is left uncommitted for the next owner of its partition. By default
   * `isDeferredError` (error-policy.ts): an AppError of kind `deferred`.
   */
  isDeferral?: (error: unknown) => boolean;
  /**
   * Errors that mean a dependency is away (the database, the broker, the network), not that the message is bad:
   * the message is handled again after a backoff (growing to `unavailableMaxBackoffMs`), heartbeating, for as long
   * as the outage lasts, and never counted as an attempt nor dead-lettered. Its partition moves on only once it is
   * handled. By default `isAvailabilityError`; `isPermanent` wins over it.
   */
  isUnavailable?: (error: unknown) => boolean;
  /** The longest wait between two tries while a dependency is away (5 s by default). */
  unavailableMaxBackoffMs?: number;
  /** In-place attempts before a message is dead-lettered (errors of availability are not counted). */
  maxAttempts?: number;
  retryBackoffMs?: number;
  /**
   * Unset (the default): one message at a time per partition, in offset order. Set: up to this many messages of
   * one partition in hand at once, never two with the same key (so per-key order holds), and a message waiting for
   * its retry holds up only the messages of its own key. Offsets are committed up to the lowest message not yet
   * done; a partition with this many messages in hand is paused until half of them are done.
   */
  maxInFlightPerPartition?: number;
  /**
   * With `maxInFlightPerPartition`: how long a finished message waits for others to share its offset commit (0, the
   * default, commits at once). A crash in between redelivers those messages, which at-least-once allows.
   */
  commitIntervalMs?: number;
  /** How long a fetch waits for data; kafkajs's 5 s default would add seconds to every hop of the saga. */
  maxWaitTimeInMs?: number;
  /**
   * A fetch answers once this many bytes are waiting (or `maxWaitTimeInMs` passed). 1, the default, answers with
   * the first message; more lets a batch gather at moderate rates, which is what makes a batch consumer cheap.
   */
  minBytes?: number;
  fromBeginning?: boolean;
  /** Publisher for dead letters (to `<topic>.dlq` of the topic consumed); one is created if not given. */
  publisher?: DeadLetterPublisher;
}

/** The messages of one partition in hand in keyed mode, and how far its offsets may be committed. */
interface PartitionLane {
  topic: string;
  partition: number;
  /** Offsets accepted and not yet pruned, in offset order, each with whether it is done. */
  accepted: Map<bigint, boolean>;
  /** Accepted messages not yet done. */
  inHand: number;
  /** The offset after the last accepted message: a refetched message below it is already in hand. */
  next: bigint | undefined;
  committed: bigint | undefined;
  /** Per key, the promise of its last message: a message of a key starts once the one before it is done. */
  tails: Map<string, Promise<void>>;
  /** Paused for having maxInFlightPerPartition messages in hand. */
  full: boolean;
  /** No longer assigned to this consumer: its results are not committed, its queued messages are not started. */
  revoked: boolean;
  dirty: boolean;
  committing: Promise<void> | undefined;
  /** A commit scheduled `commitIntervalMs` after a message finished. */
  commitTimer: NodeJS.Timeout | undefined;
}

/** The offset up to which a lane may commit: its lowest message not done, or the one after its last. */
function commitPoint(lane: PartitionLane): bigint | undefined {
  for (const [offset, done] of lane.accepted) {
    if (!done) {
      return offset;
    }
  }
  return lane.next;
}

/** Thrown out of eachMessage so that kafkajs does not mark a message the consumer is abandoning as consumed. */
class ConsumerStoppingError extends Error {
  constructor() {
    super('the consumer is stopping; the message is left for the next owner of its partition');
    this.name = 'ConsumerStoppingError';
  }
}

/**
 * The consumer side of the Kafka port. Every message is decoded and validated against the contracts before any
 * handler runs; what is not one of our events, or keeps failing, goes to `<topic>.dlq` with the reason and the
 * consumer moves on. Offsets advance only after the handler (and any dead letter) is done: at-least-once.
 */
export async function startEventConsumer(options: EventConsumerOptions): Promise<RunningConsumer> {
  const signals = new EventEmitter<ConsumerSignals>();
  const log = options.logger.child({ component: 'consumer', groupId: options.groupId });
  const maxAttempts = options.maxAttempts ?? 5;
  const backoffMs = options.retryBackoffMs ?? 200;
  const isUnavailable = options.isUnavailable ?? isAvailabilityError;
  const unavailableBackoff = {
    initialDelayMs: Math.max(1, backoffMs),
    maxDelayMs: Math.max(1, options.unavailableMaxBackoffMs ?? 5000),
  };
  const keyed = options.maxInFlightPerPartition !== undefined;
  const maxInFlight = Math.max(1, options.maxInFlightPerPartition ?? 1);
  const commitIntervalMs = Math.max(0, options.commitIntervalMs ?? 0);
  const handleBatch = options.handleBatch;
  const handleOne =
    options.handle ??
    (handleBatch && ((event: AnyCardEvent, context: DeliveryContext) => handleBatch([{ event, context }])));
  if (!handleOne) {
    throw new Error('an event consumer needs `handle` or `handleBatch`');
  }
  const ownPublisher = options.publisher ? undefined : new KafkaEventPublisher(options.kafka);
  const publisher = options.publisher ?? ownPublisher;
  if (!publisher) {
    throw new Error('unreachable: a publisher is always available');
  }
  const consumer = options.kafka.consumer({
    groupId: options.groupId,
    maxWaitTimeInMs: options.maxWaitTimeInMs ?? 100,
    minBytes: Math.max(1, options.minBytes ?? 1),
    allowAutoTopicCreation: false,
    // Rejoining after a broker restart can take a while (coordinator moves, metadata settles): keep trying.
    retry: { retries: 20, maxRetryTime: 10_000 },
    // A member that died without leaving (SIGKILL, a lost host) holds its partitions until its session times
    // out; kafkajs's 30 s default would stall every card on them for that long. 10 s, heartbeats every second.
    sessionTimeout: 10_000,
    heartbeatInterval: 1000,
  });
  // kafkajs gives up on a consumer whose errors outlast its retries and leaves it stopped inside a live process,
  // which would then hold its partitions' lag forever. A consumer that cannot go on crashes its process (exit
  // non-zero, see runMain), so the supervisor starts a fresh one.
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (!payload.restart && !stoppingRequested()) {
      const fatal = payload.error;
      log.fatal({ err: fatal }, 'consumer crashed and will not restart; exiting');
      setImmediate(() => {
        throw fatal;
      });
    }
  });
  const allTopics = options.topics.map((topic) => ({ topic }));

  const stopping = new AbortController();
  const stoppingRequested = (): boolean => stopping.signal.aborted;
  let paused = false;
  let resumed = wakeUp();
  stopping.signal.addEventListener('abort', () => {
    resumed.wake();
  });

  const deadLetter = async (
    message: KafkaMessage,
    context: DeliveryContext,
    reason: string,
  ): Promise<void> => {
    const { signal: _signal, ...origin } = context;
    await writeDeadLetter({ publisher, groupId: options.groupId, message, origin, reason, logger: log });
    signals.emit('dead-lettered', reason, context);
  };

  /**
   * Waits before a deferred message goes to its handler again: until resume() while paused, else one backoff.
   * In eachMessage mode kafkajs sends no heartbeats while a handler runs, so the wait sends them itself.
   */
  const waitForRedelivery = async (heartbeat?: () => Promise<void>): Promise<void> => {
    if (!paused) {
      await sleep(backoffMs, undefined, { signal: stopping.signal }).catch(() => undefined);
      return;
    }
    const { promise } = resumed;
    if (!heartbeat) {
      await promise;
      return;
    }
    const wait = { over: false };
    void promise.then(() => {
      wait.over = true;
    });
    for (;;) {
      const tick = new AbortController();
      await Promise.race([promise, sleep(1000, undefined, { signal: tick.signal }).catch(() => undefined)]);
      tick.abort();
      if (wait.over) {
        return;
      }
      await heartbeat();
    }
  };

  /**
   * Waits out round `round` of an outage before the next try: a backoff with full jitter (consumers that failed
   * together do not come back together), heartbeating so that the group keeps the partition here, cut short when
   * the consumer stops.
   */
  const waitWhileUnavailable = async (round: number, heartbeat?: () => Promise<void>): Promise<void> => {
    const delay = Math.max(backoffMs, backoffDelayMs(round, unavailableBackoff, Number.POSITIVE_INFINITY));
    await sleepWithHeartbeats(delay, heartbeat, stopping.signal);
  };

  /**
   * Runs the handler for one message until it is handled, is to be dead-lettered, or is abandoned. `cancelled`
   * says the message must not start again (the consumer stops, or no longer owns the partition); `abandonOnStop`
   * also gives up in-place retries then (keyed mode), where eachMessage mode finishes them as it always has.
   */
  const processMessage = async (
    message: KafkaMessage,
    where: { topic: string; partition: number; offset: string },
    controls: {
      cancelled: () => boolean;
      abandonOnStop: boolean;
      heartbeat?: () => Promise<void>;
    },
  ): Promise<MessageOutcome> => {
    const decoded = decodeEvent({
      value: message.value?.toString() ?? null,
      headers: headersToStrings(message.headers),
    });
    if (!decoded.ok) {
      return {
        kind: 'dead-letter',
        reason: decoded.reason,
        context: { ...where, attempt: 0, signal: stopping.signal },
      };
    }
    // Every line about this message names its card and the saga's request id, so one grep finds the whole saga.
    const eventLog = log.child({
      eventId: decoded.event.id,
      cardId: decoded.event.subject,
      correlationId: decoded.event.correlationId,
    });
    let outageRounds = 0;
    for (let attempt = 1; ;) {
      const context: DeliveryContext = { ...where, attempt, signal: stopping.signal };
      if (controls.abandonOnStop && controls.cancelled()) {
        return { kind: 'abandoned', context };
      }
      try {
        await handleOne(decoded.event, context);
        signals.emit('handled', decoded.event, context);
        return { kind: 'handled' };
      } catch (error) {
        if ((options.isDeferral ?? isDeferredError)(error)) {
          if (controls.cancelled()) {
            return { kind: 'abandoned', context };
          }
          eventLog.info(
            { err: error, ...where, attempt },
            'handler deferred the message; it waits uncommitted',
          );
          signals.emit('deferred', decoded.event, context, error);
          await waitForRedelivery(controls.heartbeat);
          if (controls.cancelled()) {
            return { kind: 'abandoned', context };
          }
          continue;
        }
        if (controls.abandonOnStop && controls.cancelled()) {
          return { kind: 'abandoned', context };
        }
        const permanent = (options.isPermanent ?? isPermanentError)(error);
        if (!permanent && isUnavailable(error)) {
          if (controls.cancelled()) {
            return { kind: 'abandoned', context };
          }
          outageRounds += 1;
          // One line when the outage starts, then one every tenth try: an outage of minutes must not flood the log.
          if (outageRounds === 1 || outageRounds % 10 === 0) {
            eventLog.warn(
              { err: error, ...where, attempt, round: outageRounds },
              'a dependency is unavailable; the message waits and is tried again',
            );
          }
          signals.emit('unavailable', decoded.event, context, error, outageRounds);
          await waitWhileUnavailable(outageRounds, controls.heartbeat);
          if (controls.cancelled()) {
            return { kind: 'abandoned', context };
          }
          continue;
        }
        outageRounds = 0;
        if (permanent || attempt >= maxAttempts) {
          const why = error instanceof Error ? error.message : String(error);
          return {
            kind: 'dead-letter',
            reason: `${permanent ? 'permanent' : 'retries exhausted'}: ${why}`,
            context,
          };
        }
        eventLog.warn({ err: error, ...where, attempt }, 'handler failed; retrying');
        signals.emit('retried', decoded.event, context, error);
        const delay = backoffMs * 2 ** (attempt - 1);
        if (controls.abandonOnStop) {
          await sleep(delay, undefined, { signal: stopping.signal }).catch(() => undefined);
        } else {
          await sleepWithHeartbeats(delay, controls.heartbeat);
        }
        attempt += 1;
      }
    }
  };

  const abandoned = (context: DeliveryContext): void => {
    const { signal: _signal, ...where } = context;
    log.info(where, 'message left uncommitted for the next owner of its partition');
    signals.emit('abandoned', where);
  };

  // --- keyed mode: several messages of a partition in hand, one per key ---

  const lanes = new Map<string, PartitionLane>();
  const inFlight = new Set<Promise<void>>();

  const laneFor = (topic: string, partition: number): PartitionLane => {
    const id = `${topic}|${partition}`;
    let lane = lanes.get(id);
    if (!lane) {
      lane = {
        topic,
        partition,
        accepted: new Map(),
        inHand: 0,
        next: undefined,
        committed: undefined,
        tails: new Map(),
        full: false,
        revoked: false,
        dirty: false,
        committing: undefined,
        commitTimer: undefined,
      };
      lanes.set(id, lane);
    }
    return lane;
  };

  /** Pauses or resumes one lane for backpressure; while the whole consumer is paused, resume() sorts it out. */
  const setFull = (lane: PartitionLane, full: boolean): void => {
    if (lane.full === full) {
      return;
    }
    lane.full = full;
    if (paused || stopping.signal.aborted || lane.revoked) {
      return;
    }
    const partitions = [{ topic: lane.topic, partitions: [lane.partition] }];
    if (full) {
      consumer.pause(partitions);
    } else {
      consumer.resume(partitions);
    }
  };

  const commitLoop = async (lane: PartitionLane): Promise<void> => {
    while (lane.dirty && !lane.revoked) {
      lane.dirty = false;
      const offset = commitPoint(lane);
      if (offset === undefined || (lane.committed !== undefined && offset <= lane.committed)) {
        continue;
      }
      try {
        await consumer.commitOffsets([
          { topic: lane.topic, partition: lane.partition, offset: offset.toString() },
        ]);
        lane.committed = offset;
      } catch (error) {
        // The next message done commits again; a rebalance meanwhile means redelivery, which is at-least-once.
        log.warn({ err: error, topic: lane.topic, partition: lane.partition }, 'offset commit failed');
      }
    }
  };

  /** Commits a lane up to its lowest unfinished message; one commit at a time per lane, the latest point wins. */
  const commitLane = (lane: PartitionLane): Promise<void> => {
    lane.dirty = true;
    lane.committing ??= commitLoop(lane).finally(() => {
      lane.committing = undefined;
      if (lane.dirty && !lane.revoked) {
        void commitLane(lane);
      }
    });
    return lane.committing;
  };

  const finish = (lane: PartitionLane, offset: bigint): void => {
    lane.accepted.set(offset, true);
    lane.inHand -= 1;
    for (const [accepted, done] of lane.accepted) {
      if (!done) {
        break;
      }
      lane.accepted.delete(accepted);
    }
    if (lane.full && lane.inHand <= Math.floor(maxInFlight / 2)) {
      setFull(lane, false);
    }
    if (lane.revoked) {
      return;
    }
    if (commitIntervalMs === 0) {
      void commitLane(lane);
      return;
    }
    // Messages finishing within the interval share one OffsetCommit request instead of one each.
    lane.commitTimer ??= setTimeout(() => {
      lane.commitTimer = undefined;
      void commitLane(lane);
    }, commitIntervalMs);
  };

  /** Handles one accepted message to the end, dead letter included; never rejects. */
  const runKeyed = async (lane: PartitionLane, message: KafkaMessage): Promise<void> => {
    const where = { topic: lane.topic, partition: lane.partition, offset: message.offset };
    const cancelled = (): boolean => stopping.signal.aborted || lane.revoked;
    try {
      const outcome = await processMessage(message, where, { cancelled, abandonOnStop: true });
      if (outcome.kind === 'abandoned') {
        abandoned(outcome.context);
        return;
      }
      if (outcome.kind === 'dead-letter') {
        // A dead letter that cannot be written is retried: the message must not be skipped silently.
        for (;;) {
          try {
            await deadLetter(message, outcome.context, outcome.reason);
            break;
          } catch (error) {
            if (cancelled()) {
              abandoned(outcome.context);
              return;
            }
            log.error({ err: error, ...where }, 'dead letter not written; retrying');
            await sleep(backoffMs, undefined, { signal: stopping.signal }).catch(() => undefined);
          }
        }
      }
      finish(lane, BigInt(message.offset));
    } catch (error) {
      // Only a bug gets here (processMessage handles handler errors); the message stays uncommitted.
      log.error({ err: error, ...where }, 'message processing failed unexpectedly');
    }
  };

  const accept = (lane: PartitionLane, message: KafkaMessage, offset: bigint): void => {
    lane.accepted.set(offset, false);
    lane.inHand += 1;
    lane.next = offset + 1n;
    // Messages without a key have no order to keep among themselves.
    const key = message.key === null ? `\u0000offset:${message.offset}` : message.key.toString();
    const previous = lane.tails.get(key) ?? Promise.resolve();
    const task = previous.then(() => runKeyed(lane, message));
    lane.tails.set(key, task);
    inFlight.add(task);
    void task.finally(() => {
      inFlight.delete(task);
      if (lane.tails.get(key) === task) {
        lane.tails.delete(key);
      }
    });
  };

  consumer.on(consumer.events.GROUP_JOIN, (event) => {
    // A rebalance: lanes of partitions this consumer lost stop committing; their messages go to the new owner.
    const assignment = event.payload.memberAssignment;
    for (const [id, lane] of lanes) {
      if (!(assignment[lane.topic] ?? []).includes(lane.partition)) {
        if (lane.full && !paused) {
          consumer.resume([{ topic: lane.topic, partitions: [lane.partition] }]);
        }
        lane.revoked = true;
        clearTimeout(lane.commitTimer);
        lanes.delete(id);
      }
    }
    signals.emit('group-joined');
  });

  await consumer.connect();
  await publisher.connect();
  for (const topic of options.topics) {
    await consumer.subscribe({ topic, fromBeginning: options.fromBeginning ?? true });
  }
  if (keyed) {
    await consumer.run({
      // Offsets are resolved as messages are taken in hand (that is where the next fetch starts) and committed
      // by hand up to the lowest message not yet done, so kafkajs must commit nothing itself.
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: (payload) => {
        const { batch } = payload;
        const lane = laneFor(batch.topic, batch.partition);
        for (const message of batch.messages) {
          if (stopping.signal.aborted || lane.revoked) {
            break;
          }
          const offset = BigInt(message.offset);
          if (lane.next !== undefined && offset < lane.next) {
            // Already in hand: fetched again after a rebalance reset the fetch position to the committed offset.
            payload.resolveOffset(message.offset);
            continue;
          }
          if (lane.inHand >= maxInFlight) {
            // The rest of the batch is not resolved, so it is fetched again once the lane has room.
            setFull(lane, true);
            break;
          }
          accept(lane, message, offset);
          payload.resolveOffset(message.offset);
        }
        return Promise.resolve();
      },
    });
  } else if (handleBatch) {
    await consumer.run({
      // Offsets are resolved slice by slice once applied; kafkajs commits what is resolved once per batch, after
      // eachBatch returns (autoCommit with neither interval nor threshold), and so never before the effects.
      autoCommit: true,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: Math.max(1, options.partitionsConsumedConcurrently ?? 1),
      eachBatch: batchHandler({
        handleBatch,
        maxBatchSize: Math.max(1, options.maxBatchSize ?? 500),
        isDeferral: options.isDeferral ?? isDeferredError,
        isUnavailable: (error) => !(options.isPermanent ?? isPermanentError)(error) && isUnavailable(error),
        waitWhileUnavailable,
        signals,
        logger: log,
        stopping: stopping.signal,
        processMessage,
        deadLetter,
        abandoned,
        waitForRedelivery,
      }),
    });
  } else {
    await consumer.run({
      autoCommitInterval: 1000,
      eachMessage: async (payload) => {
        const { topic, partition, message } = payload;
        const where = { topic, partition, offset: message.offset };
        const outcome = await processMessage(message, where, {
          cancelled: () => stopping.signal.aborted,
          abandonOnStop: false,
          heartbeat: () => payload.heartbeat(),
        });
        if (outcome.kind === 'abandoned') {
          abandoned(outcome.context);
          throw new ConsumerStoppingError();
        }
        if (outcome.kind === 'dead-letter') {
          await deadLetter(message, outcome.context, outcome.reason);
        }
      },
    });
  }

  return {
    signals,
    pause() {
      if (stopping.signal.aborted) {
        return;
      }
      paused = true;
      consumer.pause(allTopics);
    },
    resume() {
      if (stopping.signal.aborted) {
        return;
      }
      paused = false;
      consumer.resume(allTopics);
      // Resuming whole topics also resumed the lanes that are paused for backpressure.
      for (const lane of lanes.values()) {
        if (lane.full) {
          consumer.pause([{ topic: lane.topic, partitions: [lane.partition] }]);
        }
      }
      const previous = resumed;
      resumed = wakeUp();
      previous.wake();
    },
    async stop() {
      stopping.abort();
      if (keyed) {
        // No more fetching; the messages in hand finish their current handler call, and what is done is
        // committed before the consumer leaves its group. The rest is redelivered to the next owner.
        consumer.pause(allTopics);
        await Promise.allSettled([...inFlight]);
        await Promise.allSettled(
          [...lanes.values()].map((lane) => {
            clearTimeout(lane.commitTimer);
            return commitLane(lane);
          }),
        );
      }
      await consumer.disconnect();
      await ownPublisher?.disconnect();
    },
  };
}
