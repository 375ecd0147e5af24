import { randomUUID } from 'node:crypto';

import { EventType } from '@cards/contracts';

import { resultEventId } from '../../src/domain/result-events';
import { asType, buildCancelCommand, buildProvisionCommand } from '../support/fakes';
import { startWorkerFlow, type WorkerFlow } from '../support/provider-worker';

describe('cancelling a provider card (compensation)', () => {
  let flow: WorkerFlow;

  beforeAll(async () => {
    flow = await startWorkerFlow('cancel-card');
  });

  afterAll(async () => {
    await flow.stop();
  });

  it('when a cancel command names a provider card, then the provider card is cancelled and card.cancelled published', async () => {
    const provision = buildProvisionCommand();
    await flow.sendCommands(provision);
    const [provisionedMessage] = await flow.results.waitFor(
      (read) => read.event?.type === EventType.provisioned && read.event.subject === provision.data.cardId,
    );
    const { providerCardId } = asType(provisionedMessage?.event, EventType.provisioned).data;
    const cancel = buildCancelCommand({ cardId: provision.data.cardId, providerCardId });

    await flow.sendCommands(cancel);

    const [cancelledMessage] = await flow.results.waitFor(
      (read) => read.event?.type === EventType.cancelled && read.event.subject === provision.data.cardId,
    );
    const cancelled = asType(cancelledMessage?.event, EventType.cancelled);
    expect(cancelled.id).toBe(resultEventId(cancel.id, EventType.cancelled));
    expect(cancelled.data).toEqual({ cardId: provision.data.cardId, providerCardId });
    const [providerCard] = await flow.provider.cardsFor(provision.data.cardId);
    expect(providerCard?.status).toBe('CANCELLED');
  });

  it('when the provider does not know the card, then card.cancelled is still published (nothing is left active)', async () => {
    const cancel = buildCancelCommand({ providerCardId: `pc_unknown_${randomUUID()}` });

    await flow.sendCommands(cancel);

    const [message] = await flow.results.waitFor((read) => read.event?.subject === cancel.data.cardId);
    expect(message?.event?.type).toBe(EventType.cancelled);
  });
});
