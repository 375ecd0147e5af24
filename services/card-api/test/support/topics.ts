import { deadLetterTopic } from '@cards/contracts';
import { createKafka, ensureTopics } from '@cards/messaging';
import { createLogger } from '@cards/runtime';
import { testKafkaBrokers } from '@cards/test-support';

/** Creates a test's command and result topics and their dead-letter topics. */
export async function allTopicsFor(topicEnv: {
  TOPIC_PROVISIONING_COMMANDS: string;
  TOPIC_PROVISIONING_RESULTS: string;
}): Promise<void> {
  const kafka = createKafka(
    { clientId: 'test-topics', brokers: testKafkaBrokers() },
    createLogger({ service: 'test', level: 'silent' }),
  );
  const topics = [topicEnv.TOPIC_PROVISIONING_COMMANDS, topicEnv.TOPIC_PROVISIONING_RESULTS];
  await ensureTopics(kafka, [...topics, ...topics.map(deadLetterTopic)], { partitions: 3 });
}
