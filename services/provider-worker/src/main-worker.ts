import type { EventEmitter } from 'node:events';

import {
  createKafka,
  consumerMetrics,
  KafkaEventPublisher,
  KafkaProbe,
  type ConsumerSignals,
  type RunningConsumer,
} from '@cards/messaging';
import { createLogger, createMetricsRegistry, listen, type Logger, runService } from '@cards/runtime';

import { createCockatielCircuitBreaker } from './data-access/cockatiel-circuit-breaker';
import { HttpProviderClient } from './data-access/http-provider-client';
import { circuitStateMetric, timedProviderClient } from './data-access/provider-metrics';
import { createProviderRetryPolicy } from './data-access/provider-retry-policy';
import { loadConfig, type WorkerConfig } from './config';
import { createHealthApp } from './entry-points/http/health-app';
import { pauseWhileCircuitOpen } from './entry-points/kafka/circuit-pause';
import { startProvisioningCommandsConsumer } from './entry-points/kafka/provisioning-commands.consumer';

/** The running worker. */
export interface RunningWorker {
  /** Base URL of the health server. */
  url: string;
  logger: Logger;
  /** The commands consumer's signals (handled, retried, dead-lettered, group-joined). */
  signals: EventEmitter<ConsumerSignals>;
  stop(): Promise<void>;
}

/**
 * Starts provider-worker: the health server, then the commands consumer, which calls the provider and publishes
 * each command's result to the results topic.
 */
export async function start(config: WorkerConfig = loadConfig()): Promise<RunningWorker> {
  const logger = createLogger({ service: 'provider-worker', level: config.LOG_LEVEL });
  const kafkaSettings = { clientId: config.KAFKA_CLIENT_ID, brokers: config.KAFKA_BROKERS };
  const kafkaProbe = new KafkaProbe(kafkaSettings, logger, config.READINESS_TIMEOUT_MS);
  const kafka = createKafka(kafkaSettings, logger);
  const publisher = new KafkaEventPublisher(
    kafka,
    {
      provisioningCommands: config.TOPIC_PROVISIONING_COMMANDS,
      provisioningResults: config.TOPIC_PROVISIONING_RESULTS,
    },
    logger,
    // Results of commands handled side by side share a produce request: the publisher sends one request
    // at a time, so one result per request made the broker's round trip the worker's pace. A few ms of waiting
    // is small beside a provider call.
    { batching: { lingerMs: config.RESULTS_PUBLISH_LINGER_MS, maxEvents: 500 } },
  );

  // Every metric is registered before the health server answers, so /metrics shows them all from the start.
  const metrics = createMetricsRegistry();
  // One breaker for the process: every command's calls tell it whether the provider is up.
  const breaker = createCockatielCircuitBreaker({
    failureRate: config.PROVIDER_BREAKER_FAILURE_RATE,
    windowMs: config.PROVIDER_BREAKER_WINDOW_MS,
    minCalls: config.PROVIDER_BREAKER_MIN_CALLS,
    halfOpenAfterMs: config.PROVIDER_BREAKER_HALF_OPEN_AFTER_MS,
  });
  circuitStateMetric(metrics, breaker);
  const providerClient = new HttpProviderClient({
    baseUrl: config.PROVIDER_URL,
    timeoutMs: config.PROVIDER_TIMEOUT_MS,
    maxConnections: config.PROVIDER_MAX_CONNECTIONS,
  });
  const provider = timedProviderClient(metrics, providerClient);
  const commandsMetrics = consumerMetrics({
    registry: metrics,
    kafka,
    groupId: config.KAFKA_GROUP_ID,
    topics: [config.TOPIC_PROVISIONING_COMMANDS],
    logger,
    timeoutMs: config.READINESS_TIMEOUT_MS,
  });

  // The health server comes first, so /healthz answers while the consumer is still joining its group.
  const app = createHealthApp([{ name: 'kafka', check: () => kafkaProbe.check() }], metrics);
  const { url, close } = await listen(app, config.HTTP_PORT, config.HTTP_HOST);

  let consumer: RunningConsumer;
  let stopWatchingCircuit: () => void;
  try {
    consumer = await startProvisioningCommandsConsumer({
      kafka,
      groupId: config.KAFKA_GROUP_ID,
      topic: config.TOPIC_PROVISIONING_COMMANDS,
      maxWaitTimeInMs: config.KAFKA_MAX_WAIT_MS,
      partitionConcurrency: config.KAFKA_PARTITION_CONCURRENCY,
      commitIntervalMs: config.KAFKA_COMMIT_INTERVAL_MS,
      publisher,
      provider,
      retry: createProviderRetryPolicy(
        {
          maxAttempts: config.PROVIDER_MAX_ATTEMPTS,
          budgetMs: config.PROVIDER_RETRY_BUDGET_MS,
          initialDelayMs: config.PROVIDER_RETRY_BASE_MS,
          maxDelayMs: config.PROVIDER_RETRY_MAX_DELAY_MS,
          outageFailureRate: config.PROVIDER_BREAKER_FAILURE_RATE,
          outageMinCalls: config.PROVIDER_BREAKER_MIN_CALLS,
        },
        { breaker },
      ),
      logger,
    });
    // Attached once the consumer exists; if the circuit opened meanwhile, it pauses at once.
    stopWatchingCircuit = pauseWhileCircuitOpen({
      breaker,
      consumer,
      halfOpenAfterMs: config.PROVIDER_BREAKER_HALF_OPEN_AFTER_MS,
      logger,
    });
  } catch (error) {
    await Promise.allSettled([
      publisher.disconnect(),
      close(),
      kafkaProbe.close(),
      commandsMetrics.close(),
      providerClient.close(),
    ]);
    throw error;
  }
  commandsMetrics.watch(consumer.signals);
  logger.info(
    { url, topic: config.TOPIC_PROVISIONING_COMMANDS, groupId: config.KAFKA_GROUP_ID },
    'provider-worker started',
  );

  return {
    url,
    logger,
    signals: consumer.signals,
    async stop() {
      // The consumer finishes the provider calls in hand (and publishes their results) before it lets go; commands
      // waiting for a retry or for the circuit are left uncommitted for the next owner. Only then may the
      // publisher go, and the health server last, so probes see the worker until it is gone.
      stopWatchingCircuit();
      await consumer.stop();
      // No call is left once the consumer has stopped: the provider's connections can go.
      await providerClient.close();
      await publisher.disconnect();
      await commandsMetrics.close();
      await close();
      await kafkaProbe.close();
    },
  };
}

if (require.main === module) {
  runService('provider-worker', loadConfig, start);
}
