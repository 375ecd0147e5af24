import type { EventEmitter } from 'node:events';

import { decodeEvent } from '@cards/contracts';
import type { EachBatchPayload, KafkaMessage } from 'kafkajs';
import type { Logger } from 'pino';

import type { BatchDelivery, ConsumerSignals, DeliveryContext, MessageOutcome } from './delivery';
import { headersToStrings } from './dead-letters';

/** What the batch loop borrows from its consumer: the per-message path, dead letters and the consumer's state. */
export interface BatchRunnerParts {
  handleBatch: (deliveries: readonly BatchDelivery[]) => Promise<void>;
  maxBatchSize: number;
  isDeferral: (error: unknown) => boolean;
  /** A dependency is away: the slice is applied again after `waitWhileUnavailable`, for as long as it takes. */
  isUnavailable: (error: unknown) => boolean;
  waitWhileUnavailable: (round: number, heartbeat?: () => Promise<void>) => Promise<void>;
  signals: EventEmitter<ConsumerSignals>;
  logger: Logger;
  stopping: AbortSignal;
  /** The one-message path: attempts, backoff and the dead-letter decision for one message. */
  processMessage: (
    message: KafkaMessage,
    where: { topic: string; partition: number; offset: string },
    controls: { cancelled: () => boolean; abandonOnStop: boolean; heartbeat?: () => Promise<void> },
  ) => Promise<MessageOutcome>;
  deadLetter: (message: KafkaMessage, context: DeliveryContext, reason: string) => Promise<void>;
  abandoned: (context: DeliveryContext) => void;
  waitForRedelivery: (heartbeat?: () => Promise<void>) => Promise<void>;
}

/** What came of one slice of a batch: applied (its offsets may be resolved) or left for the next owner. */
type SliceOutcome = 'applied' | 'abandoned';

/**
 * The eachBatch handler of batch mode. A fetched batch is cut into slices of at most `maxBatchSize` messages; each
 * slice's events are applied by one `handleBatch` call (one transaction), its undecodable messages are
 * dead-lettered, and only then are its offsets resolved, so kafkajs commits once per batch, after its effects.
 * A slice whose call fails is applied again one message at a time: the poison message among them is retried and
 * dead-lettered alone, its neighbours applied, all in offset order (so per-key order holds).
 */
export function batchHandler(parts: BatchRunnerParts): (payload: EachBatchPayload) => Promise<void> {
  return async (payload) => {
    const { batch } = payload;
    const heartbeat = (): Promise<void> => payload.heartbeat();
    // A partition taken away by a rebalance (stale) or a stopping consumer: the rest is the next owner's.
    const cancelled = (): boolean => parts.stopping.aborted || !payload.isRunning() || payload.isStale();
    for (let start = 0; start < batch.messages.length; start += parts.maxBatchSize) {
      if (cancelled()) {
        return;
      }
      const slice = batch.messages.slice(start, start + parts.maxBatchSize);
      const outcome = await applySlice(parts, slice, {
        topic: batch.topic,
        partition: batch.partition,
        cancelled,
        heartbeat,
      });
      if (outcome === 'abandoned') {
        return;
      }
      const last = slice.at(-1);
      if (last) {
        payload.resolveOffset(last.offset);
      }
      await heartbeat();
    }
  };
}

async function applySlice(
  parts: BatchRunnerParts,
  messages: readonly KafkaMessage[],
  where: { topic: string; partition: number; cancelled: () => boolean; heartbeat: () => Promise<void> },
): Promise<SliceOutcome> {
  const deliveries: BatchDelivery[] = [];
  const valid: KafkaMessage[] = [];
  for (const message of messages) {
    const context: DeliveryContext = {
      topic: where.topic,
      partition: where.partition,
      offset: message.offset,
      attempt: 1,
      signal: parts.stopping,
    };
    const decoded = decodeEvent({
      value: message.value?.toString() ?? null,
      headers: headersToStrings(message.headers),
    });
    if (!decoded.ok) {
      // Not one of our events: it has no effect to order against its neighbours, so it goes to the DLQ alone.
      const context0 = { ...context, attempt: 0 };
      if (!(await deadLetterUntilWritten(parts, message, context0, decoded.reason, where.cancelled))) {
        return 'abandoned';
      }
      continue;
    }
    deliveries.push({ event: decoded.event, context });
    valid.push(message);
  }
  if (deliveries.length === 0) {
    return 'applied';
  }
  for (let outageRounds = 0; ;) {
    try {
      await parts.handleBatch(deliveries);
      for (const delivery of deliveries) {
        parts.signals.emit('handled', delivery.event, delivery.context);
      }
      return 'applied';
    } catch (error) {
      if (parts.isDeferral(error)) {
        if (where.cancelled()) {
          return 'abandoned';
        }
        parts.logger.info(
          { err: error, topic: where.topic, partition: where.partition, events: deliveries.length },
          'handler deferred the batch; it waits uncommitted',
        );
        for (const delivery of deliveries) {
          parts.signals.emit('deferred', delivery.event, delivery.context, error);
        }
        await parts.waitForRedelivery(where.heartbeat);
        if (where.cancelled()) {
          return 'abandoned';
        }
        continue;
      }
      if (parts.isUnavailable(error)) {
        // The database or the broker is away, which splitting the batch cannot help: wait it out, heartbeating.
        outageRounds += 1;
        if (outageRounds === 1 || outageRounds % 10 === 0) {
          parts.logger.warn(
            {
              err: error,
              topic: where.topic,
              partition: where.partition,
              events: deliveries.length,
              round: outageRounds,
            },
            'a dependency is unavailable; the batch waits and is applied again',
          );
        }
        for (const delivery of deliveries) {
          parts.signals.emit('unavailable', delivery.event, delivery.context, error, outageRounds);
        }
        await parts.waitWhileUnavailable(outageRounds, where.heartbeat);
        if (where.cancelled()) {
          return 'abandoned';
        }
        continue;
      }
      parts.logger.warn(
        { err: error, topic: where.topic, partition: where.partition, events: deliveries.length },
        'batch failed; applying its events one at a time',
      );
      return applyOneByOne(parts, valid, where);
    }
  }
}

/** The fallback after a failed batch: each message alone, with its own attempts and dead letter, in offset order. */
async function applyOneByOne(
  parts: BatchRunnerParts,
  messages: readonly KafkaMessage[],
  where: { topic: string; partition: number; cancelled: () => boolean; heartbeat: () => Promise<void> },
): Promise<SliceOutcome> {
  for (const message of messages) {
    const outcome = await parts.processMessage(
      message,
      { topic: where.topic, partition: where.partition, offset: message.offset },
      { cancelled: where.cancelled, abandonOnStop: false, heartbeat: where.heartbeat },
    );
    if (outcome.kind === 'abandoned') {
      parts.abandoned(outcome.context);
      return 'abandoned';
    }
    if (outcome.kind === 'dead-letter') {
      const written = await deadLetterUntilWritten(
        parts,
        message,
        outcome.context,
        outcome.reason,
        where.cancelled,
      );
      if (!written) {
        return 'abandoned';
      }
    }
  }
  return 'applied';
}

/**
 * A dead letter that cannot be written is retried: the message must not be skipped silently. False when the
 * consumer stopped first (the message then stays uncommitted).
 */
async function deadLetterUntilWritten(
  parts: BatchRunnerParts,
  message: KafkaMessage,
  context: DeliveryContext,
  reason: string,
  cancelled: () => boolean,
): Promise<boolean> {
  for (;;) {
    try {
      await parts.deadLetter(message, context, reason);
      return true;
    } catch (error) {
      if (cancelled()) {
        parts.abandoned(context);
        return false;
      }
      parts.logger.error(
        { err: error, topic: context.topic, partition: context.partition, offset: context.offset },
        'dead letter not written; retrying',
      );
      await parts.waitForRedelivery();
    }
  }
}
