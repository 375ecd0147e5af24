import { startEventConsumer, type RunningConsumer, type Logger } from '@cards/platform';
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
      const outcome = await applyProvisioningResult(event, options.deps);
      log.info(
        {
          eventId: event.id,
          type: event.type,
          cardId: event.subject,
          outcome,
          correlationId: event.correlationId,
          ...context,
        },
        'result applied',
      );
    },
  });
}
