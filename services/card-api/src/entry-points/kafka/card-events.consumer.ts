import { startEventConsumer, type KafkaClient, type RunningConsumer } from '@cards/messaging';
import { startSpan, type Logger } from '@cards/runtime';

import { applyProvisioningResults, type ApplyResultDeps } from '../../domain/apply-provisioning-result';

/**
 * Consumes provider results and applies them a batch per partition at a time, each batch in one transaction
 * (exactly-once effects through the inbox). Partitions are applied side by side.
 */
export function startCardEventsConsumer(options: {
  kafka: KafkaClient;
  groupId: string;
  topic: string;
  maxWaitTimeInMs: number;
  /** A fetch waits (at most maxWaitTimeInMs) until this many bytes of results are there, so batches gather. */
  fetchMinBytes: number;
  /** Results applied by one transaction at most. */
  maxBatchSize: number;
  /** Partitions whose batches are applied at the same time (each on its own connection). */
  partitionsConsumedConcurrently: number;
  logger: Logger;
  deps: ApplyResultDeps;
}): Promise<RunningConsumer> {
  const log = options.logger.child({ component: 'card-events' });
  return startEventConsumer({
    kafka: options.kafka,
    groupId: options.groupId,
    topics: [options.topic],
    logger: options.logger,
    maxWaitTimeInMs: options.maxWaitTimeInMs,
    minBytes: options.fetchMinBytes,
    maxBatchSize: options.maxBatchSize,
    partitionsConsumedConcurrently: options.partitionsConsumedConcurrently,
    // The database being away (a failover, a cut link, an exhausted pool) is waited out for as long as it lasts
    // (the port's isAvailabilityError); any other failure is retried in place (250 ms doubling, 5 attempts) and
    // then dead-lettered.
    maxAttempts: 5,
    retryBackoffMs: 250,
    handleBatch: async (deliveries) => {
      // Each result's span continues its own trace; a cancel it asks for carries that span on.
      const spans = deliveries.map(({ event }) => startSpan(event.type, event.traceparent));
      try {
        const outcomes = await applyProvisioningResults(
          deliveries.map(({ event }, index) => ({ ...event, traceparent: spans[index]?.traceparent })),
          options.deps,
        );
        deliveries.forEach(({ event, context }, index) => {
          log.info(
            {
              eventId: event.id,
              type: event.type,
              cardId: event.subject,
              outcome: outcomes[index],
              correlationId: event.correlationId,
              traceId: spans[index]?.traceId,
              topic: context.topic,
              partition: context.partition,
              offset: context.offset,
              attempt: context.attempt,
              batch: deliveries.length,
            },
            'result applied',
          );
        });
      } finally {
        for (const span of spans) {
          span.end();
        }
      }
    },
  });
}
