/**
 * Scenario 3: relay throughput. The outbox is pre-filled with valid `card.provision.requested` rows; a fresh relay
 * process publishes them to a topic of their own, and the time runs from the relay being up (its /healthz answers)
 * until no row is left unpublished. Baseline: a bare kafkajs producer sending the same messages in batches of the
 * same size. Both exclude process start and connection set-up.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

import { bareProducerSend, type RawMessage } from '../baselines/kafka.ts';
import { freePort, startProcess } from '../lib/processes.ts';
import { measureCpu } from '../lib/resources.ts';
import { productionEnv } from '../lib/stack.ts';
import type { RelayResult } from '../lib/results.ts';
import type { ScenarioContext } from './context.ts';

/** Inserts `rows` outbox rows in one statement: each a valid event, as requestCard would have written it. */
async function prefill(ctx: ScenarioContext, topic: string, rows: number): Promise<void> {
  await ctx.stack.pool.query(
    /* sql */ `INSERT INTO outbox (event_id, topic, key, type, event)
               SELECT e.id, $1, e.card::text, 'card.provision.requested',
                      jsonb_build_object('id', e.id, 'type', 'card.provision.requested', 'source', 'card-api',
                        'time', e.at, 'subject', e.card,
                        'data', jsonb_build_object('cardId', e.card, 'color', 'gold', 'cardholderRef', e.holder,
                                                   'requestedAt', e.at))
               FROM (SELECT gen_random_uuid() AS id, gen_random_uuid() AS card, gen_random_uuid() AS holder,
                            to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS at
                     FROM generate_series(1, $2)) AS e`,
    [topic, rows],
  );
}

/** The rows as the relay would send them (see encodeEvent in packages/contracts), for the bare producer. */
async function asMessages(ctx: ScenarioContext): Promise<RawMessage[]> {
  const result = await ctx.stack.pool.query<{
    event: Record<string, unknown> & { data: unknown; subject: string };
  }>(/* sql */ 'SELECT event FROM outbox ORDER BY id');
  return result.rows.map(({ event }) => ({
    key: event.subject,
    value: JSON.stringify(event.data),
    headers: {
      ce_id: String(event['id']),
      ce_type: String(event['type']),
      ce_source: String(event['source']),
      ce_specversion: '1.0',
      ce_time: String(event['time']),
      ce_subject: event.subject,
      'content-type': 'application/json',
    },
  }));
}

async function unpublished(ctx: ScenarioContext): Promise<number> {
  const result = await ctx.stack.pool.query<{ count: string }>(
    /* sql */ 'SELECT count(*) FROM outbox WHERE published_at IS NULL',
  );
  return Number(result.rows[0]?.count ?? 0);
}

export async function relayScenario(ctx: ScenarioContext): Promise<RelayResult | undefined> {
  const { stack, profile } = ctx;
  // Nothing else runs: the relay and the producer each have the machine to themselves.
  await stack.stop();
  await stack.truncate();
  const relayTopic = `${stack.info.prefix}.relay`;
  const baselineTopic = `${stack.info.prefix}.relay-baseline`;
  await stack.createTopics([relayTopic, baselineTopic]);
  await prefill(ctx, relayTopic, profile.relayRows);
  const messages = await asMessages(ctx);

  const baselineSeconds = await bareProducerSend({
    kafka: stack.kafka(`${stack.info.prefix}-bare-producer`),
    topic: baselineTopic,
    messages,
    batchSize: profile.relayBatchSize,
  });

  // The relay publishes to the topic each row names; a relay of its own with this run's database.
  const port = await freePort();
  const relay = await startProcess({
    name: 'outbox-relay-scenario-3',
    script: 'services/card-api/dist/main-outbox-relay.js',
    env: {
      ...productionEnv(stack.info),
      TOPIC_PROVISIONING_COMMANDS: relayTopic,
      TOPIC_PROVISIONING_RESULTS: stack.info.topics.results,
      OUTBOX_BATCH_SIZE: String(profile.relayBatchSize),
      OUTBOX_RELAY_HTTP_PORT: String(port),
    },
    readyUrl: `http://127.0.0.1:${port}/healthz`,
    nodeArgs: stack.nodeArgs,
  });
  try {
    const cpu = measureCpu({ 'outbox-relay': relay.pid });
    const started = performance.now();
    const deadline = started + 300_000;
    let left = profile.relayRows;
    while (left > 0 && performance.now() < deadline) {
      await sleep(50);
      left = await unpublished(ctx);
    }
    const oursSeconds = (performance.now() - started) / 1000;
    const spent = cpu();
    if (left > 0) {
      ctx.failures.push(`relay: ${left} of ${profile.relayRows} rows still unpublished after 300 s`);
      return undefined;
    }
    const result: RelayResult = {
      rows: profile.relayRows,
      batchSize: profile.relayBatchSize,
      oursSeconds: Math.round(oursSeconds * 100) / 100,
      oursRowsPerSecond: Math.round(profile.relayRows / oursSeconds),
      baselineSeconds: Math.round(baselineSeconds * 100) / 100,
      baselineRowsPerSecond: Math.round(profile.relayRows / baselineSeconds),
      cpu: spent,
    };
    ctx.log(
      `relay: ${result.oursRowsPerSecond} rows/s; bare producer ${result.baselineRowsPerSecond} rows/s`,
    );
    return result;
  } finally {
    await relay.stop();
  }
}
