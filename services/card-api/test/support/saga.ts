import {
  createTestDatabase,
  freeTcpPort,
  startServiceProcess,
  uniqueSuffix,
  type ServiceProcess,
  type TestDatabase,
} from '@cards/test-support';

import { startCardApi, type CardApiHarness } from './card-api';

/** The whole saga for one test file: card-api in this process, every other process of DESIGN.md as an OS process. */
export interface SagaHarness extends CardApiHarness {
  providerUrl: string;
  processes: Record<SagaProcess, ServiceProcess>;
  /** Base URL of each OS process's HTTP server (/healthz, /readyz, /metrics); card-api's is `api.url`. */
  urls: Record<SagaProcess, string>;
  /** Changes the provider's faults (a partial ProviderFaults). */
  setProviderFaults(faults: Record<string, unknown>): Promise<void>;
}

/** The saga's processes that run as OS processes. */
export type SagaProcess = 'mockProvider' | 'providerWorker' | 'outboxRelay' | 'cardEventsConsumer';

/** Environment added to (or replacing) the defaults of some processes of the saga. */
export interface SagaOverrides {
  /** card-api, in this process (e.g. SAGA_DEADLINE_SECONDS); PROVIDER_URL already names the saga's provider. */
  cardApi?: Record<string, string>;
  /** provider-worker (e.g. PROVIDER_TIMEOUT_MS). */
  providerWorker?: Record<string, string>;
}

/** Starts card-api, outbox-relay, card-events-consumer, provider-worker and mock-provider over fresh state. */
export async function startSaga(label: string, overrides: SagaOverrides = {}): Promise<SagaHarness> {
  // Each OS process gets a free port of its own, so test files running side by side never collide.
  const [providerPort, workerPort, relayPort, consumerPort] = await Promise.all([
    freeTcpPort(),
    freeTcpPort(),
    freeTcpPort(),
    freeTcpPort(),
  ]);
  const providerUrl = `http://127.0.0.1:${providerPort}`;
  const urls: Record<SagaProcess, string> = {
    mockProvider: providerUrl,
    providerWorker: `http://127.0.0.1:${workerPort}`,
    outboxRelay: `http://127.0.0.1:${relayPort}`,
    cardEventsConsumer: `http://127.0.0.1:${consumerPort}`,
  };
  const suffix = uniqueSuffix();
  const workerGroup = `test.provider-worker.${suffix}`;
  // card-api's admin figures (lag, members) watch the worker's group: the same name on both sides.
  const api = await startCardApi(label, {
    PROVIDER_URL: providerUrl,
    PROVIDER_WORKER_GROUP_ID: workerGroup,
    ...overrides.cardApi,
  });
  const providerDatabase: TestDatabase = await createTestDatabase(`${label}-provider`);
  const common = {
    LOG_LEVEL: 'info',
    NODE_ENV: 'test',
    DATABASE_URL: api.database.url,
    KAFKA_BROKERS: api.config.KAFKA_BROKERS.join(','),
    ...api.topicEnv,
  };
  const mockProvider = await startServiceProcess({
    name: `${label}-mock-provider`,
    service: 'mock-provider',
    entry: 'main-provider',
    env: { ...common, HTTP_PORT: String(providerPort), DATABASE_URL: providerDatabase.url },
    readyUrl: `${providerUrl}/healthz`,
  });
  const [providerWorker, outboxRelay, cardEventsConsumer] = await Promise.all([
    startServiceProcess({
      name: `${label}-provider-worker`,
      service: 'provider-worker',
      entry: 'main-worker',
      env: {
        ...common,
        HTTP_PORT: String(workerPort),
        PROVIDER_URL: providerUrl,
        KAFKA_GROUP_ID: workerGroup,
        PROVIDER_TIMEOUT_MS: '1000',
        PROVIDER_RETRY_BASE_MS: '50',
        ...overrides.providerWorker,
      },
      readyUrl: `${urls.providerWorker}/healthz`,
    }),
    startServiceProcess({
      name: `${label}-outbox-relay`,
      service: 'card-api',
      entry: 'main-outbox-relay',
      env: { ...common, OUTBOX_RELAY_HTTP_PORT: String(relayPort) },
      readyUrl: `${urls.outboxRelay}/healthz`,
    }),
    startServiceProcess({
      name: `${label}-card-events-consumer`,
      service: 'card-api',
      entry: 'main-card-events-consumer',
      env: { ...common, CARD_EVENTS_HTTP_PORT: String(consumerPort) },
      readyUrl: `${urls.cardEventsConsumer}/healthz`,
    }),
  ]);
  const processes = { mockProvider, providerWorker, outboxRelay, cardEventsConsumer };

  return {
    ...api,
    providerUrl,
    processes,
    urls,
    async setProviderFaults(faults) {
      const response = await fetch(`${providerUrl}/control/faults`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(faults),
      });
      if (!response.ok) {
        throw new Error(`setting provider faults answered ${response.status}: ${await response.text()}`);
      }
    },
    async stop() {
      await Promise.all(Object.values(processes).map((process) => process.stop()));
      await api.stop();
      await providerDatabase.drop();
    },
  };
}
