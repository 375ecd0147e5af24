import { AssignerProtocol, type Admin } from 'kafkajs';

import { withTimeout } from '@cards/runtime';
import type { KafkaClient } from './client';
import { readConsumerLag, type PartitionLag } from './lag';

/** One partition's offsets: the first message the broker still holds (low) and the next one to be written (high). */
export interface PartitionOffsets {
  partition: number;
  low: string;
  high: string;
}

/** Whether a consumer group has members now, as the group coordinator says. */
export interface GroupState {
  /** Kafka's word for it: Empty and Dead have no members; Stable, PreparingRebalance, … do. */
  state: string;
  members: number;
}

/** A member of a consumer group, and the partitions of each topic the group's leader assigned it. */
export interface GroupMember {
  memberId: string;
  /** The consumer's client id: in the replicated profile it names the replica (provider-worker-2). */
  clientId: string;
  host: string;
  assignment: { topic: string; partitions: number[] }[];
}

/** The admin reads (and the clean-up of a throw-away group) that operator tools need, in kafkajs-free types. */
export interface KafkaAdmin {
  listTopics(): Promise<string[]>;
  topicOffsets(topic: string): Promise<PartitionOffsets[]>;
  /** The group's lag on each partition of `topics` (see readConsumerLag). */
  consumerLag(groupId: string, topics: readonly string[]): Promise<PartitionLag[]>;
  groupState(groupId: string): Promise<GroupState>;
  /** The group's members now, each with its partitions (none while the group rebalances). */
  groupMembers(groupId: string): Promise<GroupMember[]>;
  /** Moves the group's committed offsets on `topic` to its earliest or latest; the broker refuses an active group. */
  resetGroupOffsets(groupId: string, topic: string, to: 'earliest' | 'latest'): Promise<void>;
  deleteGroup(groupId: string): Promise<void>;
}

function adminPort(admin: Admin): KafkaAdmin {
  return {
    listTopics: () => admin.listTopics(),
    topicOffsets: async (topic) =>
      (await admin.fetchTopicOffsets(topic)).map(({ partition, low, high }) => ({ partition, low, high })),
    consumerLag: (groupId, topics) => readConsumerLag(admin, groupId, topics),
    groupState: async (groupId) => {
      const [group] = (await admin.describeGroups([groupId])).groups;
      return { state: group?.state ?? 'Dead', members: group?.members.length ?? 0 };
    },
    groupMembers: async (groupId) => {
      const [group] = (await admin.describeGroups([groupId])).groups;
      return (group?.members ?? []).map((member) => {
        // Empty while the group rebalances: the leader has not handed out the partitions yet.
        const decoded =
          member.memberAssignment.length > 0
            ? AssignerProtocol.MemberAssignment.decode(member.memberAssignment)
            : null;
        return {
          memberId: member.memberId,
          clientId: member.clientId,
          host: member.clientHost.replace(/^\//, ''),
          assignment: Object.entries(decoded?.assignment ?? {}).map(([topic, partitions]) => ({
            topic,
            partitions: [...partitions].sort((a, b) => a - b),
          })),
        };
      });
    },
    resetGroupOffsets: async (groupId, topic, to) => {
      // Concrete offsets, not kafkajs's resetOffsets: that commits -1/-2, which a consumer resolves only when it
      // next joins, so the lag would read as before until then.
      const partitions = (await admin.fetchTopicOffsets(topic)).map(({ partition, low, high }) => ({
        partition,
        offset: to === 'earliest' ? low : high,
      }));
      await admin.setOffsets({ groupId, topic, partitions });
    },
    deleteGroup: async (groupId) => {
      await admin.deleteGroups([groupId]);
    },
  };
}

/** Runs `work` with an admin client of its own, connected for it and disconnected afterwards, whatever happens. */
export async function withKafkaAdmin<T>(
  kafka: Pick<KafkaClient, 'admin'>,
  work: (admin: KafkaAdmin) => Promise<T>,
): Promise<T> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await work(adminPort(admin));
  } finally {
    await admin.disconnect();
  }
}

/**
 * An admin client kept connected from one call to the next (an operator console asks often, metrics at every
 * scrape), each call bounded by `timeoutMs` when given, so a dead broker answers in seconds. A half-broken admin
 * client can stay stuck, so after a failure the next call starts from a fresh one, as KafkaProbe does.
 */
export class KafkaAdminSession {
  private admin: Admin | undefined;

  constructor(
    private readonly kafka: Pick<KafkaClient, 'admin'>,
    private readonly options: {
      timeoutMs?: number;
      /** kafkajs's retries of each request; a reader that must report a dead broker (a scrape) asks for 0. */
      retries?: number;
    } = {},
  ) {}

  /** Runs `work` with the session's admin, connecting it first if need be; rejects after `timeoutMs`. */
  async run<T>(work: (admin: KafkaAdmin) => Promise<T>): Promise<T> {
    const { timeoutMs, retries } = this.options;
    const current = (this.admin ??= this.kafka.admin(
      retries === undefined ? undefined : { retry: { retries } },
    ));
    try {
      const connectedWork = (async () => {
        await current.connect();
        return work(adminPort(current));
      })();
      return await (timeoutMs === undefined ? connectedWork : withTimeout(connectedWork, timeoutMs));
    } catch (error) {
      if (this.admin === current) {
        this.admin = undefined;
      }
      void current.disconnect().catch(() => undefined);
      throw error;
    }
  }

  async close(): Promise<void> {
    const current = this.admin;
    this.admin = undefined;
    // Closing is letting go: a broker already gone has nothing to be told.
    await current?.disconnect().catch(() => undefined);
  }
}
