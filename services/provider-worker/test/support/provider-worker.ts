import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { deadLetterTopic, decodeEvent, encodeEvent, ProviderCardListSchema } from '@cards/contracts';
import type { AnyCardEvent, ProviderCard, ProviderFaults } from '@cards/contracts';
import { createKafka, ensureTopics } from '@cards/messaging';
import { createLogger } from '@cards/runtime';
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

type Kafka = ReturnType<typeof createKafka>;
type Consumer = ReturnType<Kafka['consumer']>;
type Producer = ReturnType<Kafka['producer']>;

/** A Kafka message as a test reads it: strings throughout, and the event when it decodes as one. */
export interface ReadMessage {
  key: string | null;
  value: string | null;
  headers: Record<string, string>;
  event: AnyCardEvent | undefined;
}

/** Reads one topic from the beginning, keeping every message, so a test waits for messages instead of time. */
export class TopicReader {
  readonly messages: ReadMessage[] = [];

  private constructor(private readonly consumer: Consumer) {}

  /** Subscribes a consumer of its own (a fresh group) to `topic` and starts collecting. */
  static async start(kafka: Kafka, topic: string, groupId: string): Promise<TopicReader> {
    const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100, allowAutoTopicCreation: false });
    const reader = new TopicReader(consumer);
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: ({ message }) => {
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(message.headers ?? {})) {
          const first = Array.isArray(value) ? value[0] : value;
          if (first !== undefined) {
            headers[name] = first.toString();
          }
        }
        const value = message.value?.toString() ?? null;
        const decoded = decodeEvent({ value, headers });
        reader.messages.push({
          key: message.key?.toString() ?? null,
          value,
          headers,
          event: decoded.ok ? decoded.event : undefined,
        });
        return Promise.resolve();
      },
    });
    return reader;
  }

  /** Waits until `count` messages match, and returns them. */
  async waitFor(
    match: (message: ReadMessage) => boolean,
    options: { count?: number; timeoutMs?: number } = {},
  ): Promise<ReadMessage[]> {
    const count = options.count ?? 1;
    return eventually(
      () => {
        const found = this.messages.filter(match);
        if (found.length < count) {
          throw new Error(`${found.length} of ${count} expected messages so far`);
        }
        return found;
      },
      { timeoutMs: options.timeoutMs ?? 30_000 },
    );
  }

  /** The events for one card, in the order they arrived. */
  eventsFor(cardId: string): AnyCardEvent[] {
    return this.messages.flatMap(({ event }) => (event?.subject === cardId ? [event] : []));
  }

  async stop(): Promise<void> {
    await this.consumer.disconnect();
  }
}

/** mock-provider as a real OS process, with its own database, and the calls a test makes on it. */
export class MockProvider {
  private constructor(
    readonly url: string,
    private readonly process: ServiceProcess,
    private readonly database: TestDatabase,
  ) {}

  /** Starts mock-provider on a free port against a new database, and waits until it answers. */
  static async start(name: string): Promise<MockProvider> {
    const database = await createTestDatabase(name);
    const port = await freeTcpPort();
    const url = `http://127.0.0.1:${port}`;
    try {
      const process = await startServiceProcess({
        name,
        service: 'mock-provider',
        entry: 'main-provider',
        env: { HTTP_PORT: String(port), DATABASE_URL: database.url, LOG_LEVEL: 'warn' },
        readyUrl: `${url}/healthz`,
      });
      return new MockProvider(url, process, database);
    } catch (error) {
      await database.drop();
      throw error;
    }
  }

  /** PUT /control/faults: changes only the named settings. */
  async setFaults(changes: Partial<ProviderFaults>): Promise<void> {
    const response = await fetch(`${this.url}/control/faults`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(changes),
    });
    if (!response.ok) {
      throw new Error(`PUT /control/faults answered ${response.status}: ${await response.text()}`);
    }
  }

  /** The provider's cards for one of our card ids (GET /v1/cards?reference=). */
  async cardsFor(reference: string): Promise<ProviderCard[]> {
    const response = await fetch(`${this.url}/v1/cards?reference=${encodeURIComponent(reference)}`);
    if (!response.ok) {
      throw new Error(`GET /v1/cards answered ${response.status}: ${await response.text()}`);
    }
    return ProviderCardListSchema.parse(await response.json()).data;
  }

  /** How many create requests reached the provider (GET /control/stats). */
  async createRequests(): Promise<number> {
    const response = await fetch(`${this.url}/control/stats`);
    const stats = (await response.json()) as { createRequests: number };
    return stats.createRequests;
  }

  async stop(): Promise<void> {
    await this.process.stop();
    await this.database.drop();
  }
}

/**
 * An HTTP proxy in front of mock-provider that answers 503 to the creates of chosen cards (by Idempotency-Key) and
 * passes everything else through: one card keeps failing transiently while the others are served. mock-provider's
 * own faults apply to every request alike.
 */
export class SelectiveFaultProxy {
  private readonly failing = new Set<string>();
  private readonly failures = new Map<string, number>();

  private constructor(
    private readonly server: Server,
    private readonly target: string,
    readonly url: string,
  ) {}

  /** Starts the proxy on a free port in front of `target`. */
  static async start(target: string): Promise<SelectiveFaultProxy> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const proxy = new SelectiveFaultProxy(server, target, `http://127.0.0.1:${port}`);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      proxy.handle(req, res).catch(() => {
        res.destroy();
      });
    });
    return proxy;
  }

  /** From now on, creates of this card answer 503. */
  failCreatesOf(cardId: string): void {
    this.failing.add(cardId);
  }

  stopFailing(cardId: string): void {
    this.failing.delete(cardId);
  }

  /** How many creates of this card the proxy has failed. */
  failedCreates(cardId: string): number {
    return this.failures.get(cardId) ?? 0;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => {
      this.server.close(() => {
        resolve();
      });
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) {
      chunks.push(chunk as Buffer);
    }
    const key = req.headers['idempotency-key'];
    if (
      req.method === 'POST' &&
      req.url === '/v1/cards' &&
      typeof key === 'string' &&
      this.failing.has(key)
    ) {
      this.failures.set(key, this.failedCreates(key) + 1);
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({ error: 'SERVICE_UNAVAILABLE', message: 'Injected for this card by the test.' }),
      );
      return;
    }
    const headers: Record<string, string> = {};
    for (const name of ['content-type', 'accept', 'idempotency-key']) {
      const value = req.headers[name];
      if (typeof value === 'string') {
        headers[name] = value;
      }
    }
    const response = await fetch(`${this.target}${req.url ?? '/'}`, {
      method: req.method ?? 'GET',
      headers,
      ...(chunks.length > 0 && { body: Buffer.concat(chunks) }),
    });
    res.writeHead(response.status, {
      'content-type': response.headers.get('content-type') ?? 'application/json',
    });
    res.end(Buffer.from(await response.arrayBuffer()));
  }
}

/** The topics of one test file: its own names, so files never read each other's messages. */
export interface TestTopics {
  commands: string;
  results: string;
  commandsDeadLetters: string;
}

/** A provider-worker OS process and the base URL of its HTTP server (/healthz, /readyz, /metrics). */
export type WorkerProcess = ServiceProcess & { url: string };

/**
 * Everything one flow needs: its topics, the real mock-provider, provider-worker as a real process (as in
 * production), a producer of commands and readers of the results and dead-letter topics.
 */
export interface WorkerFlow {
  suffix: string;
  topics: TestTopics;
  provider: MockProvider;
  /** The proxy between the worker and the provider, when the flow was started with `faultProxy`. */
  proxy: SelectiveFaultProxy | undefined;
  worker: WorkerProcess;
  /** Starts one more worker process in the same group and with the same settings (stopped with the flow). */
  startWorker(name: string): Promise<WorkerProcess>;
  results: TopicReader;
  deadLetters: TopicReader;
  /** Sends commands to the commands topic, each encoded and validated as card-api's relay would. */
  sendCommands(...events: AnyCardEvent[]): Promise<void>;
  /** Sends commands to one partition of the commands topic, whatever their keys (card ids). */
  sendCommandsTo(partition: number, ...events: AnyCardEvent[]): Promise<void>;
  /** Sends raw messages to the commands topic (poison messages). */
  sendRaw(
    ...messages: { key: string | null; value: string | null; headers?: Record<string, string> }[]
  ): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts a flow for one test file. `workerEnv` adds to or overrides the worker's settings (its retry budget);
 * the defaults keep retries short so tests take seconds.
 */
export async function startWorkerFlow(
  label: string,
  options: { workerEnv?: Record<string, string>; faultProxy?: boolean } = {},
): Promise<WorkerFlow> {
  const suffix = uniqueSuffix();
  const brokers = testKafkaBrokers();
  const kafka = createKafka(
    { clientId: `test-${label}-${suffix}`, brokers },
    createLogger({ service: 'test', level: 'silent' }),
  );
  const commands = `test.commands.${suffix}`;
  const results = `test.results.${suffix}`;
  const topics: TestTopics = { commands, results, commandsDeadLetters: deadLetterTopic(commands) };
  await ensureTopics(kafka, [commands, deadLetterTopic(commands), results, deadLetterTopic(results)], {
    partitions: 2,
  });

  const stops: (() => Promise<void>)[] = [];
  const stopAll = async (): Promise<void> => {
    for (const stop of stops.reverse()) {
      await stop().catch(() => undefined);
    }
  };
  try {
    const provider = await MockProvider.start(`${label}-provider`);
    stops.push(() => provider.stop());
    const proxy = options.faultProxy ? await SelectiveFaultProxy.start(provider.url) : undefined;
    if (proxy) {
      stops.push(() => proxy.stop());
    }

    const startWorker = async (name: string): Promise<WorkerProcess> => {
      const port = await freeTcpPort();
      const url = `http://127.0.0.1:${port}`;
      const worker = await startServiceProcess({
        name,
        service: 'provider-worker',
        entry: 'main-worker',
        env: {
          NODE_ENV: 'test',
          LOG_LEVEL: 'warn',
          HTTP_PORT: String(port),
          KAFKA_BROKERS: brokers.join(','),
          KAFKA_CLIENT_ID: `provider-worker-${suffix}`,
          KAFKA_GROUP_ID: `provider-worker-${suffix}`,
          TOPIC_PROVISIONING_COMMANDS: commands,
          TOPIC_PROVISIONING_RESULTS: results,
          PROVIDER_URL: proxy?.url ?? provider.url,
          PROVIDER_TIMEOUT_MS: '2000',
          PROVIDER_RETRY_BASE_MS: '50',
          PROVIDER_RETRY_MAX_DELAY_MS: '500',
          ...options.workerEnv,
        },
        readyUrl: `${url}/readyz`,
      });
      stops.push(async () => {
        await worker.stop();
      });
      return Object.assign(worker, { url });
    };
    const worker = await startWorker(`${label}-worker`);

    const producer: Producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
    });
    await producer.connect();
    stops.push(() => producer.disconnect());

    const resultsReader = await TopicReader.start(kafka, results, `test-results-${suffix}`);
    stops.push(() => resultsReader.stop());
    const deadLetterReader = await TopicReader.start(kafka, topics.commandsDeadLetters, `test-dlq-${suffix}`);
    stops.push(() => deadLetterReader.stop());

    return {
      suffix,
      topics,
      provider,
      proxy,
      worker,
      startWorker,
      results: resultsReader,
      deadLetters: deadLetterReader,
      async sendCommands(...events) {
        await producer.send({ topic: commands, acks: -1, messages: events.map(encodeEvent) });
      },
      async sendCommandsTo(partition, ...events) {
        await producer.send({
          topic: commands,
          acks: -1,
          messages: events.map((event) => ({ ...encodeEvent(event), partition })),
        });
      },
      async sendRaw(...messages) {
        await producer.send({ topic: commands, acks: -1, messages });
      },
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
