import { inSpan, startEventConsumer, type RunningConsumer, type Logger } from '@cards/platform';
import type { Kafka } from 'kafkajs';

import { applyProvisioningResult, type ApplyResultDeps } from '../../domain/apply-provisioning-result';

/** Consumes provider results and applies each to its card (exactly-once effect through the inbox). */
export function startCardEventsConsumer(options: {
  kafka: Kafka;
  groupId: string;
  topic: string;
  maxWaitTimeInMs: number;
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
    // A result that cannot be applied is almost always the database being away (a failover, a cut link), not a
    // bad message: retry for about a minute (250 ms doubling, 8 attempts) before the dead-letter topic.
    maxAttempts: 8,
    retryBackoffMs: 250,
    handle: async (event, context) => {
      // The consumer's span continues the result's trace; a cancel it asks for carries this span on.
      await inSpan(event.type, event.traceparent, async (span) => {
        const outcome = await applyProvisioningResult(
          { ...event, traceparent: span.traceparent },
          options.deps,
        );
        log.info(
          {
            eventId: event.id,
            type: event.type,
            cardId: event.subject,
            outcome,
            correlationId: event.correlationId,
            traceId: span.traceId,
            topic: context.topic,
            partition: context.partition,
            offset: context.offset,
            attempt: context.attempt,
          },
          'result applied',
        );
      });
    },
  });
}
