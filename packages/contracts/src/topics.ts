/** Kafka topic names. Versioned: a breaking change to an event gets a new topic, never an in-place change. */
export const Topics = {
  provisioningCommands: 'cards.provisioning.commands.v1',
  provisioningResults: 'cards.provisioning.results.v1',
} as const;

export type TopicName = (typeof Topics)[keyof typeof Topics];

/**
 * The topic names a process actually uses: the defaults above in production; tests give each file its own
 * names so files never read each other's messages.
 */
export interface TopicNames {
  provisioningCommands: string;
  provisioningResults: string;
}

/** The dead-letter topic that receives what a consumer of `topic` could not handle. */
export function deadLetterTopic(topic: string): string {
  return `${topic}.dlq`;
}

/** Every topic the system needs, dead-letter topics included; created explicitly at start-up. */
export const allTopics: readonly string[] = Object.values(Topics).flatMap((topic) => [
  topic,
  deadLetterTopic(topic),
]);
