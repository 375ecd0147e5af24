import { decodeEvent, type AnyCardEvent } from '@cards/contracts';
import { createKafka } from '@cards/messaging';
import { createLogger } from '@cards/runtime';
import { testKafkaBrokers, uniqueSuffix } from '@cards/test-support';
import type { Consumer, IHeaders } from 'kafkajs';

/** Reads every event a topic receives from its beginning, for a test to wait on. */
export class TopicRecorder {
  readonly events: AnyCardEvent[] = [];
  readonly raw: { key: string | null; headers: Record<string, string> }[] = [];
  private consumer: Consumer | undefined;

  constructor(private readonly topic: string) {}

  async start(): Promise<this> {
    const kafka = createKafka(
      { clientId: 'test-recorder', brokers: testKafkaBrokers() },
      createLogger({ service: 'test', level: 'silent' }),
    );
    this.consumer = kafka.consumer({ groupId: `test-recorder-${uniqueSuffix()}`, maxWaitTimeInMs: 100 });
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: this.topic, fromBeginning: true });
    const joined = new Promise<void>((resolve) => {
      this.consumer?.on(this.consumer.events.GROUP_JOIN, () => {
        resolve();
      });
    });
    await this.consumer.run({
      eachMessage: async ({ message }) => {
        const headers = headersOf(message.headers);
        this.raw.push({ key: message.key?.toString() ?? null, headers });
        const decoded = decodeEvent({ value: message.value?.toString() ?? null, headers });
        if (decoded.ok) {
          this.events.push(decoded.event);
        }
        return Promise.resolve();
      },
    });
    await joined;
    return this;
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
  }
}

/** Kafka headers as strings. */
export function headersOf(headers: IHeaders | undefined): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    const first = Array.isArray(value) ? value[0] : value;
    if (first !== undefined) {
      result[name] = first.toString();
    }
  }
  return result;
}
