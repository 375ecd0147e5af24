/**
 * Every Prometheus metric our processes export, beside prom-client's default process metrics. Dashboards, alerts and
 * the runbook name these; a test checks each is really exported by the processes listed, and another that the
 * dashboard queries name nothing else. Rename one only with its dashboard panels and alerts.
 */
export const MetricCatalogue = {
  httpRequestDuration: {
    name: 'http_request_duration_seconds',
    type: 'histogram',
    help: 'HTTP requests by method, route template and status code, with their latency.',
    labels: ['method', 'route', 'status_code'],
    processes: ['card-api', 'mock-provider'],
  },
  cards: {
    name: 'cards',
    type: 'gauge',
    help: 'Cards by status, read from the database at scrape time.',
    labels: ['status'],
    processes: ['card-api'],
  },
  sagaDuration: {
    name: 'card_saga_duration_seconds',
    type: 'histogram',
    help: 'Time from a card request to its terminal state, by outcome (ACTIVE, or FAILED with its failure code).',
    labels: ['outcome'],
    processes: ['card-events-consumer', 'card-api'],
  },
  outboxBacklog: {
    name: 'outbox_backlog_rows',
    type: 'gauge',
    help: 'Outbox rows not yet published to Kafka.',
    labels: [],
    processes: ['outbox-relay'],
  },
  outboxQuarantined: {
    name: 'outbox_quarantined_rows',
    type: 'gauge',
    help: 'Outbox rows set aside until an operator releases them (their event breaks the contract, or they failed alone too often).',
    labels: [],
    processes: ['outbox-relay'],
  },
  outboxOldestAge: {
    name: 'outbox_oldest_unpublished_age_seconds',
    type: 'gauge',
    help: 'Age of the oldest unpublished outbox row (0 when none).',
    labels: [],
    processes: ['outbox-relay'],
  },
  outboxPublishDuration: {
    name: 'outbox_publish_duration_seconds',
    type: 'histogram',
    help: 'Time to publish one relay batch to Kafka (acks=all), by outcome (ok, error).',
    labels: ['outcome'],
    processes: ['outbox-relay'],
  },
  outboxPublished: {
    name: 'outbox_published_events_total',
    type: 'counter',
    help: 'Outbox rows published to Kafka.',
    labels: [],
    processes: ['outbox-relay'],
  },
  outboxRelayActive: {
    name: 'outbox_relay_active',
    type: 'gauge',
    help: '1 while this relay holds the relay lock and publishes, 0 while it stands by.',
    labels: [],
    processes: ['outbox-relay'],
  },
  consumerLag: {
    name: 'kafka_consumer_lag',
    type: 'gauge',
    help: "Messages of a partition not yet committed by this process's consumer group, at scrape time.",
    labels: ['group', 'topic', 'partition'],
    processes: ['card-events-consumer', 'provider-worker'],
  },
  messagesHandled: {
    name: 'kafka_messages_handled_total',
    type: 'counter',
    help: 'Messages a consumer handled, by topic.',
    labels: ['topic'],
    processes: ['card-events-consumer', 'provider-worker'],
  },
  deadLetters: {
    name: 'kafka_dead_letters_total',
    type: 'counter',
    help: 'Messages a consumer sent to the dead-letter topic, by source topic.',
    labels: ['topic'],
    processes: ['card-events-consumer', 'provider-worker'],
  },
  providerRequestDuration: {
    name: 'provider_request_duration_seconds',
    type: 'histogram',
    help: 'Calls to the card provider by operation (create, cancel, find: a lookup by reference) and outcome (ok, rejected, unavailable, contract_violation, not_found), with their latency.',
    labels: ['operation', 'outcome'],
    processes: ['provider-worker'],
  },
  providerCircuitState: {
    name: 'provider_circuit_state',
    type: 'gauge',
    help: "The provider circuit breaker's state: 1 for the current one of closed, half_open, open; 0 for the others.",
    labels: ['state'],
    processes: ['provider-worker'],
  },
} as const;

export type MetricProcess = (typeof MetricCatalogue)[keyof typeof MetricCatalogue]['processes'][number];

/** Every catalogued metric name. */
export const metricNames: readonly string[] = Object.values(MetricCatalogue).map((metric) => metric.name);
