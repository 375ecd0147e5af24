import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';

import {
  createTestDatabase,
  eventually,
  freeTcpPort,
  startServiceProcess,
  testKafkaBrokers,
  uniqueSuffix,
  type ServiceProcess,
  type TestDatabase,
} from '@cards/test-support';

import type { CardApiConfig } from '../../src/config';
import { mintToken } from '../../src/entry-points/cli/dev-token';
import { createMigratedDatabase, testConfig } from './card-api';
import { allTopicsFor } from './topics';

const LOG_DIR = path.resolve(__dirname, '../../../../.run/test-logs');

/** The credentials a logged saga runs with, distinctive enough to grep for. */
export interface SagaSecrets {
  jwtSecret: string;
  /** The password in every process's DATABASE_URL. */
  databasePassword: string;
}

/**
 * Every process of DESIGN.md as an OS process, each logging at trace level into a file of its own: each logs its
 * effective configuration at start-up, and card-api an access-log line, with headers, per request.
 */
export interface LoggedSaga {
  apiUrl: string;
  providerUrl: string;
  secrets: SagaSecrets;
  /** The card database and the provider's, both reached with the password of `secrets`. */
  cardDatabase: TestDatabase;
  providerDatabase: TestDatabase;
  topics: { commands: string; results: string };
  adminToken: string;
  /** Every bearer token handed out so far (the admin's and each user's). */
  tokens: string[];
  /** Every HTTP answer `request` received, body as text, for checks of what clients were told. */
  answers: { method: string; path: string; status: number; contentType: string; body: string }[];
  createUser(): Promise<{ externalId: string; token: string }>;
  /** Calls card-api, recording the answer; the body is read once, here, and returned as text. */
  request(
    path: string,
    init?: RequestInit & { token?: string },
  ): Promise<{ status: number; headers: Headers; body: string }>;
  setProviderFaults(faults: Record<string, unknown>): Promise<void>;
  /** Stops every process (SIGTERM, as in production) and returns each one's whole log, by file name. */
  stopProcesses(): Promise<Record<string, string>>;
  /** Stops what still runs and drops both databases. */
  stop(): Promise<void>;
}

/** A database URL with `password` in it (or the one it already has, which the server then needs). */
function withPassword(url: string, password: string): { url: string; password: string } {
  const parsed = new URL(url);
  if (parsed.password) {
    return { url, password: decodeURIComponent(parsed.password) };
  }
  parsed.password = password;
  return { url: parsed.toString(), password };
}

/**
 * Starts card-api, outbox-relay, card-events-consumer, provider-worker and mock-provider as OS processes over
 * fresh databases and topics, at LOG_LEVEL=trace, with a JWT secret and database password of their own. Unlike
 * startSaga, card-api runs out of this process too, so what it logs lands in a file a test can read.
 */
export async function startLoggedSaga(
  label: string,
  options: {
    /** Settings every process gets on top of the saga's own (tracing to a test collector, say). */
    env?: Record<string, string>;
  } = {},
): Promise<LoggedSaga> {
  const suffix = uniqueSuffix();
  const topicEnv = {
    TOPIC_PROVISIONING_COMMANDS: `test.commands.${suffix}`,
    TOPIC_PROVISIONING_RESULTS: `test.results.${suffix}`,
    CARD_EVENTS_GROUP_ID: `test.card-events.${suffix}`,
  };
  await allTopicsFor(topicEnv);
  const [cardDatabase, providerDatabase, apiPort, providerPort, workerPort] = await Promise.all([
    createMigratedDatabase(label),
    createTestDatabase(`${label}-provider`),
    freeTcpPort(),
    freeTcpPort(),
    freeTcpPort(),
  ]);
  const databasePassword = `db-pw-${randomBytes(12).toString('hex')}`;
  const cardDb = withPassword(cardDatabase.url, databasePassword);
  const providerDb = withPassword(providerDatabase.url, databasePassword);
  const secrets: SagaSecrets = {
    jwtSecret: `jwt-secret-${randomBytes(24).toString('hex')}`,
    databasePassword: cardDb.password,
  };
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const providerUrl = `http://127.0.0.1:${providerPort}`;
  const common = {
    NODE_ENV: 'test',
    LOG_LEVEL: 'trace',
    KAFKA_BROKERS: testKafkaBrokers().join(','),
    DATABASE_URL: cardDb.url,
    JWT_SECRET: secrets.jwtSecret,
    ...topicEnv,
    ...options.env,
  };

  // Each process is named as it names itself (runService), which its last line, "<name> stopped", carries.
  const services = ['mock-provider', 'card-api', 'provider-worker', 'outbox-relay', 'card-events-consumer'];
  const logFile = (service: string) => path.join(LOG_DIR, `${label}-${service}.log`);
  // Log files are appended to; each run starts from empty ones so a scan reads this run only.
  for (const service of services) {
    rmSync(logFile(service), { force: true });
  }

  const processes: ServiceProcess[] = [];
  const stopAll = async (): Promise<void> => {
    await Promise.all(processes.map((process) => process.stop()));
  };
  try {
    processes.push(
      await startServiceProcess({
        name: `${label}-mock-provider`,
        service: 'mock-provider',
        entry: 'main-provider',
        env: { ...common, HTTP_PORT: String(providerPort), DATABASE_URL: providerDb.url },
        readyUrl: `${providerUrl}/healthz`,
      }),
    );
    processes.push(
      ...(await Promise.all([
        startServiceProcess({
          name: `${label}-card-api`,
          service: 'card-api',
          entry: 'main-api',
          env: {
            ...common,
            HTTP_PORT: String(apiPort),
            PROVIDER_URL: providerUrl,
            // Scheduled reconciliation is not what this test is about; it would only add provider calls.
            RECONCILIATION_INTERVAL_MS: '0',
          },
          readyUrl: `${apiUrl}/healthz`,
        }),
        startServiceProcess({
          name: `${label}-provider-worker`,
          service: 'provider-worker',
          entry: 'main-worker',
          env: {
            ...common,
            HTTP_PORT: String(workerPort),
            PROVIDER_URL: providerUrl,
            KAFKA_GROUP_ID: `test.provider-worker.${suffix}`,
            PROVIDER_TIMEOUT_MS: '2000',
            PROVIDER_RETRY_BASE_MS: '50',
          },
          readyUrl: `http://127.0.0.1:${workerPort}/healthz`,
        }),
        startServiceProcess({
          name: `${label}-outbox-relay`,
          service: 'card-api',
          entry: 'main-outbox-relay',
          env: { ...common, OUTBOX_RELAY_HTTP_PORT: '0' },
        }),
        startServiceProcess({
          name: `${label}-card-events-consumer`,
          service: 'card-api',
          entry: 'main-card-events-consumer',
          env: { ...common, CARD_EVENTS_HTTP_PORT: '0' },
        }),
      ])),
    );
  } catch (error) {
    await stopAll();
    await Promise.all([cardDatabase.drop(), providerDatabase.drop()]);
    throw error;
  }

  const config: CardApiConfig = testConfig(cardDb.url, { ...topicEnv, JWT_SECRET: secrets.jwtSecret });
  const adminToken = await mintToken(config.ADMIN_EXTERNAL_ID, config);
  const tokens = [adminToken];
  const answers: LoggedSaga['answers'] = [];

  const request: LoggedSaga['request'] = async (requestPath, init = {}) => {
    const headers = new Headers(init.headers);
    if (init.token) {
      headers.set('authorization', `Bearer ${init.token}`);
    }
    if (typeof init.body === 'string' && !headers.has('content-type')) {
      headers.set('content-type', 'application/json');
    }
    const response = await fetch(`${apiUrl}${requestPath}`, { ...init, headers });
    const body = await response.text();
    answers.push({
      method: init.method ?? 'GET',
      path: requestPath,
      status: response.status,
      contentType: response.headers.get('content-type') ?? '',
      body,
    });
    return { status: response.status, headers: response.headers, body };
  };

  let stopped: Promise<Record<string, string>> | undefined;
  const stopProcesses = (): Promise<Record<string, string>> => {
    stopped ??= (async () => {
      const exitCodes = await Promise.all(processes.map((process) => process.stop()));
      if (exitCodes.some((code) => code !== 0)) {
        throw new Error(`a process did not stop cleanly (exit codes ${exitCodes.join(', ')})`);
      }
      // The exit comes before the parent has written the last piped lines; each process's last line says it stopped.
      return eventually(() => {
        const logs: Record<string, string> = {};
        for (const service of services) {
          const text = readFileSync(logFile(service), 'utf8');
          if (!text.includes(`"msg":"${service} stopped"`)) {
            throw new Error(`${logFile(service)} has no "${service} stopped" line yet`);
          }
          logs[path.basename(logFile(service))] = text;
        }
        return logs;
      });
    })();
    return stopped;
  };

  return {
    apiUrl,
    providerUrl,
    secrets,
    cardDatabase,
    providerDatabase,
    topics: { commands: topicEnv.TOPIC_PROVISIONING_COMMANDS, results: topicEnv.TOPIC_PROVISIONING_RESULTS },
    adminToken,
    tokens,
    answers,
    request,
    async createUser() {
      const externalId = `user-${randomUUID()}`;
      const answer = await request('/v1/admin/users', {
        method: 'POST',
        token: adminToken,
        body: JSON.stringify({ externalId, email: `${externalId}@example.test` }),
      });
      if (answer.status !== 201) {
        throw new Error(`creating a user answered ${answer.status}: ${answer.body}`);
      }
      const token = await mintToken(externalId, config);
      tokens.push(token);
      return { externalId, token };
    },
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
    stopProcesses,
    async stop() {
      await stopAll();
      await Promise.all([cardDatabase.drop(), providerDatabase.drop()]);
    },
  };
}
