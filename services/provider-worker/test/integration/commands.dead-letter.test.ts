import { randomUUID } from 'node:crypto';

import { EventType, encodeEvent } from '@cards/contracts';
import { DeadLetterHeaders } from '@cards/messaging';

import { buildProvisionCommand } from '../support/fakes';
import { startWorkerFlow, type WorkerFlow } from '../support/provider-worker';

describe('the commands consumer, when a message is not a command it can handle', () => {
  let flow: WorkerFlow;

  beforeAll(async () => {
    flow = await startWorkerFlow('commands-dead-letter');
  });

  afterAll(async () => {
    await flow.stop();
  });

  it('when poison messages arrive, then they land on the dead-letter topic with the reason and the next command is still processed', async () => {
    const poisonKey = `poison-${randomUUID()}`;
    const valid = buildProvisionCommand();
    const validHeaders = encodeEvent(buildProvisionCommand()).headers;

    await flow.sendRaw(
      { key: poisonKey, value: '{"cardId": ', headers: validHeaders },
      { key: poisonKey, value: JSON.stringify(valid.data) },
    );
    await flow.sendCommands(valid);

    const deadLetters = await flow.deadLetters.waitFor((read) => read.key === poisonKey, { count: 2 });
    const reasons = deadLetters.map((letter) => letter.headers[DeadLetterHeaders.reason]);
    expect(reasons).toEqual(
      expect.arrayContaining(['value is not JSON', expect.stringMatching(/^invalid envelope/)]),
    );
    for (const letter of deadLetters) {
      expect(letter.headers[DeadLetterHeaders.sourceTopic]).toBe(flow.topics.commands);
    }
    const [result] = await flow.results.waitFor((read) => read.event?.subject === valid.data.cardId);
    expect(result?.event?.type).toBe(EventType.provisioned);
  });

  it('when an event that is not a command arrives, then it is dead-lettered at once as permanent', async () => {
    const cardId = randomUUID();

    await flow.sendCommands({
      id: randomUUID(),
      type: EventType.cancelled,
      source: 'somewhere-else',
      time: new Date().toISOString(),
      subject: cardId,
      data: { cardId, providerCardId: 'pc_stray' },
    });

    const [letter] = await flow.deadLetters.waitFor((read) => read.key === cardId);
    expect(letter?.headers[DeadLetterHeaders.reason]).toBe(
      'permanent: card.cancelled is not a command provider-worker handles',
    );
    expect(letter?.headers[DeadLetterHeaders.attempts]).toBe('1');
    expect(flow.results.eventsFor(cardId)).toEqual([]);
  });
});
