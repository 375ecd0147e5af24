import type { GroupMember, KafkaAdmin } from '@cards/messaging';

import { goAhead, type Confirm } from './confirmation';
import type { Out } from './dlq.commands';

/**
 * `consumers lag`: each partition's lag of this system's consumer groups, and the member that owns it now (its
 * client id names the replica in the replicated profile; none while the group rebalances or has no members), then
 * each group's total.
 */
export async function consumersLag(options: {
  admin: KafkaAdmin;
  consumers: readonly { groupId: string; topic: string }[];
  json?: boolean;
  out: Out;
}): Promise<void> {
  const existing = new Set(await options.admin.listTopics());
  for (const { groupId, topic } of options.consumers) {
    if (!existing.has(topic)) {
      options.out(
        options.json ? JSON.stringify({ group: groupId, topic, missing: true }) : `# ${topic} does not exist`,
      );
      continue;
    }
    const [partitions, members] = await Promise.all([
      options.admin.consumerLag(groupId, [topic]),
      options.admin.groupMembers(groupId),
    ]);
    const owners = new Map<number, GroupMember>();
    for (const member of members) {
      for (const partition of member.assignment.find((entry) => entry.topic === topic)?.partitions ?? []) {
        owners.set(partition, member);
      }
    }
    for (const { partition, lag } of [...partitions].sort((a, b) => a.partition - b.partition)) {
      const owner = owners.get(partition);
      options.out(
        options.json
          ? JSON.stringify({
              group: groupId,
              topic,
              partition,
              lag,
              owner: owner ? { clientId: owner.clientId, memberId: owner.memberId, host: owner.host } : null,
            })
          : `group=${groupId} topic=${topic} partition=${partition} lag=${lag} owner=${owner ? `${owner.clientId}@${owner.host}` : '-'}`,
      );
    }
    if (!options.json) {
      options.out(`# ${groupId} on ${topic}: ${partitions.reduce((sum, { lag }) => sum + lag, 0)} behind`);
    }
  }
}

/** `topics partitions <topic>`: each partition's low and high-water marks and what it holds. */
export async function topicsPartitions(options: {
  admin: KafkaAdmin;
  topic: string;
  json?: boolean;
  out: Out;
}): Promise<void> {
  if (!(await options.admin.listTopics()).includes(options.topic)) {
    throw new Error(`topic ${options.topic} does not exist`);
  }
  const partitions = [...(await options.admin.topicOffsets(options.topic))].sort(
    (a, b) => a.partition - b.partition,
  );
  for (const { partition, low, high } of partitions) {
    const messages = (BigInt(high) - BigInt(low)).toString();
    options.out(
      options.json
        ? JSON.stringify({ topic: options.topic, partition, low, high, messages: Number(messages) })
        : `partition=${partition} low=${low} high=${high} messages=${messages}`,
    );
  }
}

/**
 * `consumers reset <group> <topic> --to earliest|latest`: moves the group's committed offsets. Refused while the
 * group has members (their next commit would undo it, and Kafka refuses it anyway); asks first.
 */
export async function consumersReset(options: {
  admin: KafkaAdmin;
  group: string;
  topic: string;
  to: 'earliest' | 'latest';
  dryRun?: boolean;
  confirm: Confirm | undefined;
  out: Out;
}): Promise<void> {
  const { admin, group, topic, to } = options;
  if (!(await admin.listTopics()).includes(topic)) {
    throw new Error(`topic ${topic} does not exist`);
  }
  const { state, members } = await admin.groupState(group);
  if (members > 0 || !['Empty', 'Dead'].includes(state)) {
    throw new Error(`group ${group} is active (${state}, ${members} member(s)): stop its consumers first`);
  }
  const behind = (await admin.consumerLag(group, [topic])).reduce((sum, { lag }) => sum + lag, 0);
  const change = `move ${group}'s offsets on ${topic} to the ${to} (now ${behind} behind)`;
  if (!(await goAhead({ command: 'consumers reset', change, ...options }))) {
    return;
  }
  await admin.resetGroupOffsets(group, topic, to);
  const after = (await admin.consumerLag(group, [topic])).reduce((sum, { lag }) => sum + lag, 0);
  options.out(`moved ${group}'s offsets on ${topic} to the ${to}: now ${after} behind`);
}
