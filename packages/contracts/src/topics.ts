/** Kafka topic names. Versioned: a breaking change to an event gets a new topic, never an in-place change. */
export const Topics = {
  provisioningCommands: 'cards.provisioning.commands.v1',
  provisioningResults: 'cards.provisioning.results.v1',
} as const;

export type TopicName = (typeof Topics)[keyof typeof Topics];

/** The dead-letter topic that receives what a consumer of `topic` could not handle. */
export function deadLetterTopic(topic: string): string {
  return `${topic}.dlq`;
}

/** Every topic the system needs, dead-letter topics included; created explicitly at start-up. */
export const allTopics: readonly string[] = Object.values(Topics).flatMap((topic) => [
  topic,
  deadLetterTopic(topic),
]);
