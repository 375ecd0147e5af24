import { deadLetterTopic } from '@cards/contracts';
import { createKafka, KafkaAdminSession, type KafkaAdmin, type KafkaClient } from '@cards/messaging';
import { type Logger } from '@cards/runtime';

import type { DeadLetterArchive } from '../domain/replay-dead-letters';
import { readDeadLetters, republishDeadLetters, type DeadLetter } from './dead-letters';

/** How far behind a consumer group is on a topic. */
export interface ConsumerLag {
  groupId: string;
  topic: string;
  /** Sum over partitions of (end offset − committed offset); a partition with no commit counts from its start. */
  lag: number;
  /** The group's members now and the partitions of `topic` each owns. */
  members: { clientId: string; memberId: string; host: string; partitions: number[] }[];
}

/** How many messages a dead-letter topic holds. */
export interface DeadLetterCount {
  topic: string;
  deadLetterTopic: string;
  count: number;
}

/** What the operator console asks of Kafka; the admin routes know nothing more of it. */
export interface AdminKafka extends DeadLetterArchive<DeadLetter> {
  /** Lag of the project's consumer groups and the size of its dead-letter topics; rejects when Kafka is away. */
  inspect(): Promise<{ consumers: ConsumerLag[]; deadLetters: DeadLetterCount[] }>;
  /** The dead letters of `<topic>.dlq` up to its end at the time of the call. */
  readDeadLetters(topic: string): Promise<DeadLetter[]>;
  close(): Promise<void>;
}

/**
 * The operator console's Kafka, for card-api: nothing connects until a route asks. Figures come from one admin
 * client that never retries and is bounded by `timeoutMs`, so a dead broker answers "unavailable" in seconds;
 * reading and replaying dead letters use clients of their own per call (a throw-away consumer group, a producer),
 * closed when the call ends.
 */
export function createAdminKafka(options: {
  clientId: string;
  brokers: string[];
  logger: Logger;
  timeoutMs: number;
  /** The consumer groups to watch, each with the topic it consumes. */
  consumers: readonly { groupId: string; topic: string }[];
  /** The main topics whose dead-letter topics to count. */
  topics: readonly string[];
}): AdminKafka {
  const inspecting = createKafka(
    {
      clientId: `${options.clientId}-admin`,
      brokers: options.brokers,
      connectionTimeoutMs: Math.min(options.timeoutMs, 3000),
      requestTimeoutMs: options.timeoutMs,
      retries: 0,
    },
    options.logger,
  );
  // Joining a throw-away group may need a retry or two (a coordinator still loading): a few, not kafkajs's five.
  const deadLetters: KafkaClient = createKafka(
    { clientId: `${options.clientId}-admin-dlq`, brokers: options.brokers, retries: 2 },
    options.logger,
  );
  const session = new KafkaAdminSession(inspecting, { timeoutMs: options.timeoutMs });

  const inspectNow = async (admin: KafkaAdmin) => {
    const existing = new Set(await admin.listTopics());
    const consumers: ConsumerLag[] = [];
    for (const { groupId, topic } of options.consumers) {
      if (!existing.has(topic)) {
        continue;
      }
      const partitions = await admin.consumerLag(groupId, [topic]);
      const members = (await admin.groupMembers(groupId)).map(({ clientId, memberId, host, assignment }) => ({
        clientId,
        memberId,
        host,
        partitions: assignment.find((entry) => entry.topic === topic)?.partitions ?? [],
      }));
      consumers.push({ groupId, topic, lag: partitions.reduce((sum, { lag }) => sum + lag, 0), members });
    }
    const counts: DeadLetterCount[] = [];
    for (const topic of options.topics) {
      const dlq = deadLetterTopic(topic);
      if (!existing.has(dlq)) {
        continue;
      }
      const offsets = await admin.topicOffsets(dlq);
      const count = offsets.reduce((sum, { high, low }) => sum + (BigInt(high) - BigInt(low)), 0n);
      counts.push({ topic, deadLetterTopic: dlq, count: Number(count) });
    }
    return { consumers, deadLetters: counts };
  };

  return {
    inspect() {
      return session.run(inspectNow);
    },
    readDeadLetters(topic) {
      return readDeadLetters(deadLetters, topic, { timeoutMs: options.timeoutMs * 2 });
    },
    replay(topic, selection) {
      return republishDeadLetters({
        kafka: deadLetters,
        topic,
        selection,
        timeoutMs: options.timeoutMs * 2,
      });
    },
    close() {
      return session.close();
    },
  };
}
