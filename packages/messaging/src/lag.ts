import type { Admin } from 'kafkajs';

/** One partition's lag: messages after the group's committed offset. */
export interface PartitionLag {
  topic: string;
  partition: number;
  lag: number;
}

/**
 * The lag of `groupId` on each partition of `topics`: high watermark minus committed offset. A partition the group
 * has committed nothing on (-1) lags by everything the broker still holds (high - low).
 */
export async function readConsumerLag(
  admin: Pick<Admin, 'fetchOffsets' | 'fetchTopicOffsets'>,
  groupId: string,
  topics: readonly string[],
): Promise<PartitionLag[]> {
  const committed = await admin.fetchOffsets({ groupId, topics: [...topics] });
  const lags: PartitionLag[] = [];
  for (const topic of topics) {
    const offsets = new Map(
      (committed.find((entry) => entry.topic === topic)?.partitions ?? []).map(
        ({ partition, offset }) => [partition, BigInt(offset)] as const,
      ),
    );
    for (const { partition, high, low } of await admin.fetchTopicOffsets(topic)) {
      const committedOffset = offsets.get(partition) ?? -1n;
      const from = committedOffset < BigInt(low) ? BigInt(low) : committedOffset;
      const lag = BigInt(high) - from;
      lags.push({ topic, partition, lag: lag > 0n ? Number(lag) : 0 });
    }
  }
  return lags;
}
