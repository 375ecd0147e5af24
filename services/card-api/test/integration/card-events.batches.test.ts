import { randomUUID } from 'node:crypto';

import { CardSchema, encodeEvent, EventType, type AnyCardEvent } from '@cards/contracts';
import { createKafka } from '@cards/messaging';
import { createLogger } from '@cards/runtime';
import {
  eventually,
  freeTcpPort,
  provisionedEvent,
  startServiceProcess,
  testKafkaBrokers,
  type ServiceProcess,
} from '@cards/test-support';
import type { Producer } from 'kafkajs';
import { Client } from 'pg';

import { start as startConsumer, type RunningCardEventsConsumer } from '../../src/main-card-events-consumer';
import { buildCardRequest, startCardApi, type CardApiHarness } from '../support/card-api';
import { TopicRecorder } from '../support/kafka';

/** What the database holds of a card's saga: its row, its inbox outcomes, the commands it asked for. */
interface CardState {
  status: string;
  providerCardId: string | null;
  outcomes: string[];
  cancelsRequested: string[];
}

describe('card-events-consumer applying batches', () => {
  let harness: CardApiHarness;
  let producer: Producer;
  let user: { id: string; token: string };
  let resultsTopic: string;
  let db: Client;

  beforeAll(async () => {
    harness = await startCardApi('card-event-batches', { CARD_LIMIT_PER_USER: '1000' });
    resultsTopic = harness.topicEnv['TOPIC_PROVISIONING_RESULTS'] ?? '';
    producer = createKafka(
      { clientId: 'test-results', brokers: testKafkaBrokers() },
      createLogger({ service: 'test', level: 'silent' }),
    ).producer();
    await producer.connect();
    user = await harness.createUser();
    db = new Client({ connectionString: harness.database.url });
    await db.connect();
  });

  afterAll(async () => {
    await producer.disconnect();
    await db.end();
    await harness.stop();
  });

  async function newCards(count: number): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const response = await harness.request('/v1/cards', {
        method: 'POST',
        token: user.token,
        body: buildCardRequest(),
      });
      ids.push(CardSchema.parse(await response.json()).id);
    }
    return ids;
  }

  function failed(cardId: string): AnyCardEvent {
    return {
      id: randomUUID(),
      type: EventType.provisioningFailed,
      source: 'test',
      time: new Date().toISOString(),
      subject: cardId,
      data: { cardId, code: 'PROVIDER_REJECTED', message: 'declined', attempts: 1 },
    };
  }

  /** Sends the messages in one produce request: consecutive offsets of one partition when they share a key. */
  async function sendTogether(messages: { key: string; value: string; headers: Record<string, string> }[]) {
    await producer.send({ topic: resultsTopic, messages });
  }

  async function stateOf(cardId: string): Promise<CardState> {
    const card = await db.query<{ status: string; provider_card_id: string | null }>(
      'SELECT status, provider_card_id FROM cards WHERE id = $1',
      [cardId],
    );
    const inbox = await db.query<{ outcome: string }>(
      'SELECT outcome FROM inbox WHERE card_id = $1 ORDER BY received_at, outcome',
      [cardId],
    );
    const outbox = await db.query<{ provider_card_id: string }>(
      `SELECT event->'data'->>'providerCardId' AS provider_card_id FROM outbox
        WHERE key = $1 AND type = 'card.cancel.requested' ORDER BY id`,
      [cardId],
    );
    return {
      status: card.rows[0]?.status ?? 'missing',
      providerCardId: card.rows[0]?.provider_card_id ?? null,
      outcomes: inbox.rows.map((row) => row.outcome).sort(),
      cancelsRequested: outbox.rows.map((row) => row.provider_card_id),
    };
  }

  describe('with the consumer in this process', () => {
    let consumer: RunningCardEventsConsumer;
    let deadLetters: TopicRecorder;

    beforeAll(async () => {
      deadLetters = await new TopicRecorder(`${resultsTopic}.dlq`).start();
    });

    afterAll(async () => {
      await deadLetters.stop();
    });

    afterEach(async () => {
      await consumer.stop();
    });

    it('when a batch holds two results of one card, then the first activates it and the second is compensated, in order', async () => {
      const [first, second] = await newCards(2);
      if (!first || !second) {
        throw new Error('cards not created');
      }
      const [winner, loser] = [provisionedEvent(first, 'pc_first'), provisionedEvent(first, 'pc_second')];
      const [failure, late] = [failed(second), provisionedEvent(second, 'pc_late')];
      // Sent before the consumer starts, so they reach it as one fetched batch.
      await sendTogether([winner, loser, failure, late].map(encodeEvent));

      consumer = await startConsumer(harness.config);

      await eventually(async () => {
        expect(await stateOf(first)).toEqual({
          status: 'ACTIVE',
          providerCardId: 'pc_first',
          outcomes: ['activated', 'compensation-requested'],
          cancelsRequested: ['pc_second'],
        });
        expect(await stateOf(second)).toEqual({
          status: 'FAILED',
          providerCardId: null,
          outcomes: ['compensation-requested', 'failed'],
          cancelsRequested: ['pc_late'],
        });
      });
    });

    it('when a batch holds a message that is not one of our events, then it alone is dead-lettered and the results around it are applied', async () => {
      const cards = await newCards(3);
      const events = cards.map((cardId) => provisionedEvent(cardId));
      const poisonKey = cards[1] ?? '';
      const messages = events.map(encodeEvent);
      // Same key as its neighbour, so it sits in the same partition's batch between two real results.
      messages.splice(1, 0, { key: poisonKey, value: '{"not":"an event"', headers: {} });
      await sendTogether(messages);

      consumer = await startConsumer(harness.config);

      await eventually(async () => {
        for (const cardId of cards) {
          expect((await stateOf(cardId)).status).toBe('ACTIVE');
        }
        expect(deadLetters.raw.filter((message) => message.key === poisonKey)).toHaveLength(1);
      });
    });
  });

  it('when the consumer is killed in the middle of applying a batch, then the batch is applied exactly once after a restart', async () => {
    const cards = await newCards(40);
    const port = await freeTcpPort();
    const startProcess = (): Promise<ServiceProcess> =>
      startServiceProcess({
        name: 'card-event-batches-consumer',
        service: 'card-api',
        entry: 'main-card-events-consumer',
        env: {
          NODE_ENV: 'test',
          LOG_LEVEL: 'info',
          DATABASE_URL: harness.database.url,
          KAFKA_BROKERS: harness.config.KAFKA_BROKERS.join(','),
          CARD_EVENTS_GROUP_ID: harness.config.CARD_EVENTS_GROUP_ID,
          CARD_EVENTS_HTTP_PORT: String(port),
          ...harness.topicEnv,
        },
        readyUrl: `http://127.0.0.1:${port}/healthz`,
      });
    // The test holds the last card's row: the batch that reaches it waits inside its transaction, after its inbox
    // rows are written and while it holds the other cards' locks.
    const blocker = new Client({ connectionString: harness.database.url });
    await blocker.connect();
    await blocker.query('BEGIN');
    await blocker.query('SELECT 1 FROM cards WHERE id = $1 FOR UPDATE', [cards.at(-1)]);
    // One key, so all 40 land in one partition and one batch.
    const sameKey = cards[0] ?? '';
    await sendTogether(cards.map((cardId) => ({ ...encodeEvent(provisionedEvent(cardId)), key: sameKey })));

    const first = await startProcess();
    try {
      await eventually(async () => {
        const waiting = await db.query(
          `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
        );
        expect(waiting.rowCount).toBeGreaterThan(0);
      });
      await first.kill();
    } finally {
      await blocker.query('ROLLBACK');
      await blocker.end();
    }
    // Nothing of the killed batch was committed.
    const inboxAfterCrash = await db.query('SELECT count(*)::int AS n FROM inbox WHERE card_id = ANY($1)', [
      cards,
    ]);
    expect(inboxAfterCrash.rows[0]).toEqual({ n: 0 });

    const second = await startProcess();
    try {
      await eventually(
        async () => {
          const applied = await db.query<{ status: string; n: number }>(
            `SELECT c.status, count(i.*)::int AS n FROM cards c LEFT JOIN inbox i ON i.card_id = c.id
              WHERE c.id = ANY($1) GROUP BY c.status`,
            [cards],
          );
          expect(applied.rows).toEqual([{ status: 'ACTIVE', n: cards.length }]);
        },
        { timeoutMs: 30_000 },
      );
      const outcomes = await db.query<{ outcome: string; n: number }>(
        'SELECT outcome, count(*)::int AS n FROM inbox WHERE card_id = ANY($1) GROUP BY outcome',
        [cards],
      );
      expect(outcomes.rows).toEqual([{ outcome: 'activated', n: cards.length }]);
    } finally {
      await second.stop();
    }
  });
});
