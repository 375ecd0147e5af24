import { EventType, WorkerErrorCode, type AnyCardEvent } from '@cards/contracts';
import {
  startEventConsumer,
  type DeliveryContext,
  type EventConsumerOptions,
  type EventPublisher,
  type KafkaEventPublisher,
  type RunningConsumer,
} from '@cards/messaging';
import { inSpan, type Logger } from '@cards/runtime';

import { cancelProviderCard } from '../../domain/cancel-provider-card';
import { PermanentCommandError } from '../../domain/errors';
import type { ProviderClient } from '../../domain/provider-client';
import { provisionCard } from '../../domain/provision-card';
import type { RetryPolicy } from '../../domain/retry-policy';

/** What the command handler hands to the use cases. */
export interface CommandHandlerDeps {
  provider: ProviderClient;
  publisher: EventPublisher;
  retry: RetryPolicy;
  logger: Logger;
  now?: () => Date;
}

/** Routes each command to its use case; any other event on the commands topic is a permanent error. */
export function createCommandHandler(
  deps: CommandHandlerDeps,
): (event: AnyCardEvent, context?: Pick<DeliveryContext, 'signal'>) => Promise<void> {
  return async (event, context) => {
    // The consumer's stop signal reaches the retries, so a SIGTERM does not wait out a whole retry budget.
    const useCaseDeps = context ? { ...deps, signal: context.signal } : deps;
    // The worker's span continues the command's trace; its traceparent goes to the provider and into the result.
    switch (event.type) {
      case EventType.provisionRequested:
        await inSpan(event.type, event.traceparent, (span) =>
          provisionCard({ ...event, traceparent: span.traceparent }, useCaseDeps),
        );
        return;
      case EventType.cancelRequested:
        await inSpan(event.type, event.traceparent, (span) =>
          cancelProviderCard({ ...event, traceparent: span.traceparent }, useCaseDeps),
        );
        return;
      case EventType.provisioned:
      case EventType.provisioningFailed:
      case EventType.cancelled:
        throw new PermanentCommandError({
          code: WorkerErrorCode.COMMAND_NOT_HANDLED,
          message: `${event.type} is not a command provider-worker handles`,
        });
    }
  };
}

/**
 * Consumes the commands topic in the worker's group. The handler awaits the result's publish, so an offset is
 * committed only after Kafka has the result: a crash in between redelivers the command, and the provider's
 * idempotency key plus the derived result id make the redelivery harmless. Up to `partitionConcurrency` commands
 * of a partition are in progress at once, one per card, so a card waiting for its next retry holds up only itself.
 */
export async function startProvisioningCommandsConsumer(
  options: CommandHandlerDeps & {
    /** Publishes the results and the dead letters; the caller disconnects it after the consumer stops. */
    publisher: KafkaEventPublisher;
    kafka: EventConsumerOptions['kafka'];
    groupId: string;
    topic: string;
    maxWaitTimeInMs: number;
    partitionConcurrency: number;
    /** How long finished commands wait to share one offset commit. */
    commitIntervalMs?: number;
  },
): Promise<RunningConsumer> {
  return startEventConsumer({
    kafka: options.kafka,
    groupId: options.groupId,
    topics: [options.topic],
    logger: options.logger,
    handle: createCommandHandler(options),
    maxInFlightPerPartition: options.partitionConcurrency,
    ...(options.commitIntervalMs !== undefined && { commitIntervalMs: options.commitIntervalMs }),
    maxWaitTimeInMs: options.maxWaitTimeInMs,
    publisher: options.publisher,
  });
}
