import { EventHeaders, EventType } from '@cards/contracts';

import { resultEventId } from '../../src/domain/result-events';
import { asType, buildProvisionCommand } from '../support/fakes';
import { startWorkerFlow, type WorkerFlow } from '../support/provider-worker';

describe('provisioning a card, when the provider issues it', () => {
  let flow: WorkerFlow;

  beforeAll(async () => {
    flow = await startWorkerFlow('provision-success');
  });

  afterAll(async () => {
    await flow.stop();
  });

  it('when a provision command arrives, then card.provisioned carries last4 and expiry of the provider card', async () => {
    const command = buildProvisionCommand();

    await flow.sendCommands(command);

    const [message] = await flow.results.waitFor((read) => read.event?.subject === command.data.cardId);
    const provisioned = asType(message?.event, EventType.provisioned);
    const providerCards = await flow.provider.cardsFor(command.data.cardId);
    expect(providerCards).toHaveLength(1);
    const [providerCard] = providerCards;
    expect(provisioned.data).toEqual({
      cardId: command.data.cardId,
      providerCardId: providerCard?.id,
      last4: providerCard?.last4,
      expMonth: providerCard?.expMonth,
      expYear: providerCard?.expYear,
      attempts: 1,
    });
    expect(providerCard).toMatchObject({
      reference: command.data.cardId,
      color: command.data.color,
      cardholderRef: command.data.cardholderRef,
      status: 'ACTIVE',
    });
  });

  it('when the result is published, then it is keyed by card, derives its id from the command and continues its trace', async () => {
    const command = buildProvisionCommand();

    await flow.sendCommands(command);

    const [message] = await flow.results.waitFor((read) => read.event?.subject === command.data.cardId);
    const provisioned = asType(message?.event, EventType.provisioned);
    expect(message?.key).toBe(command.data.cardId);
    expect(message?.headers).toMatchObject({
      [EventHeaders.id]: resultEventId(command.id, EventType.provisioned, provisioned.data.providerCardId),
      [EventHeaders.source]: 'provider-worker',
      [EventHeaders.subject]: command.data.cardId,
      [EventHeaders.correlationId]: command.correlationId,
    });
    // The worker's own span, in the command's trace: the same trace id, another span id.
    const [, traceId] = (command.traceparent ?? '').split('-');
    expect(message?.headers[EventHeaders.traceparent]).toMatch(new RegExp(`^00-${traceId}-[\\da-f]{16}-01$`));
    expect(message?.headers[EventHeaders.traceparent]).not.toBe(command.traceparent);
  });
});
