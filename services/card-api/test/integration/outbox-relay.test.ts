import { CardSchema, EventType } from '@cards/contracts';
import { eventually } from '@cards/test-support';

import { start as startRelay, type RunningRelay } from '../../src/main-outbox-relay';
import { buildCardRequest, startCardApi, type CardApiHarness } from '../support/card-api';
import { TopicRecorder } from '../support/kafka';

describe('outbox relay', () => {
  let harness: CardApiHarness;
  let commands: TopicRecorder;
  const relays: RunningRelay[] = [];

  beforeAll(async () => {
    harness = await startCardApi('outbox-relay', { OUTBOX_POLL_INTERVAL_MS: '5000' });
    commands = await new TopicRecorder(harness.topicEnv['TOPIC_PROVISIONING_COMMANDS'] ?? '').start();
  });

  afterAll(async () => {
    await Promise.all(relays.map((relay) => relay.stop()));
    await commands.stop();
    await harness.stop();
  });

  async function postCards(token: string, count: number): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const response = await harness.request('/v1/cards', {
        method: 'POST',
        token,
        body: buildCardRequest(),
      });
      ids.push(CardSchema.parse(await response.json()).id);
    }
    return ids;
  }

  it('when cards are requested, then the relay publishes their commands (woken by NOTIFY, not its 60 s poll) and marks them', async () => {
    // With a 60 s polling fallback, publishing within eventually()'s 15 s can only come from the NOTIFY hint.
    const relay = await startRelay({ ...harness.config, OUTBOX_POLL_INTERVAL_MS: 60_000 });
    relays.push(relay);
    await new Promise<void>((resolve) => relay.relay.signals.once('leader', resolve));
    const { token } = await harness.createUser();

    const ids = await postCards(token, 3);

    await eventually(() => {
      expect(commands.events.map((event) => event.subject)).toEqual(expect.arrayContaining(ids));
    });
    const published = commands.events.filter((event) => ids.includes(event.subject));
    expect(published.every((event) => event.type === EventType.provisionRequested)).toBe(true);
    expect(commands.raw.find((message) => message.key === ids[0])?.headers).toMatchObject({
      ce_specversion: '1.0',
      ce_type: 'card.provision.requested',
      ce_source: 'card-api',
      ce_subject: ids[0],
      'content-type': 'application/json',
    });
    await eventually(async () => {
      const unpublished = await harness
        .db('outbox')
        .whereNull('published_at')
        .count<{ count: string }[]>({ count: '*' });
      expect(Number(unpublished[0]?.count)).toBe(0);
    });
  });

  it('when a second relay starts, then it stands by, and takes over when the first stops', async () => {
    const standby = await startRelay(harness.config);
    relays.push(standby);
    await new Promise<void>((resolve) => standby.relay.signals.once('standby', resolve));
    const { token } = await harness.createUser();

    const first = relays.shift();
    const tookOver = new Promise<void>((resolve) => standby.relay.signals.once('leader', resolve));
    await first?.stop();
    await tookOver;
    const ids = await postCards(token, 2);

    await eventually(() => {
      expect(commands.events.map((event) => event.subject)).toEqual(expect.arrayContaining(ids));
    });
  });

  it('when rows pile up while no relay runs, then a relay publishes them all in order, each once', async () => {
    await Promise.all(relays.splice(0).map((relay) => relay.stop()));
    const { token } = await harness.createUser();
    const ids = await postCards(token, 5);
    const before = commands.events.length;

    relays.push(await startRelay({ ...harness.config, OUTBOX_BATCH_SIZE: 2 }));

    await eventually(() => {
      expect(commands.events.length - before).toBe(5);
    });
    // One partition per card id: each card's command arrives once; the batch as a whole keeps outbox order.
    expect(
      commands.events
        .slice(before)
        .map((event) => event.subject)
        .sort(),
    ).toEqual([...ids].sort());
  });
});
