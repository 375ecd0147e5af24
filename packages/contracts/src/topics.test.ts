import { allTopics, deadLetterTopic, Topics } from './topics';

describe('topics', () => {
  it('when listing every topic, then each main topic comes with its dead-letter topic', () => {
    expect(allTopics).toEqual([
      'cards.provisioning.commands.v1',
      'cards.provisioning.commands.v1.dlq',
      'cards.provisioning.results.v1',
      'cards.provisioning.results.v1.dlq',
    ]);
  });

  it('when naming a dead-letter topic, then it is the topic with a .dlq suffix', () => {
    expect(deadLetterTopic(Topics.provisioningResults)).toBe('cards.provisioning.results.v1.dlq');
  });
});
