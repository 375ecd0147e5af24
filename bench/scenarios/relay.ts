/**
 * Scenario 3: relay throughput. The outbox is pre-filled with valid `card.provision.requested` rows; a fresh relay
 * process publishes them to a topic of their own. Its clock starts when its producer is connected (the "active
 * relay" line it logs once connected and holding the relay lock; /healthz only if that line never comes) and stops
 * at the last row's published_at, the database's own time, read once afterwards. Progress is watched on the
 * broker (the topic's offsets), never by querying the database being measured. Baseline: a bare kafkajs producer,
 * in the load generator's process, sending the same rows in batches of the same size, its clock from its connection
 * to its last acknowledged batch. Both run `relayRepeats` times, alternating; medians and the spread are reported.
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

import type { Admin } from 'kafkajs';

import { freePort, startProcess } from '../lib/processes.ts';
import { measureCpu } from '../lib/resources.ts';
import type { RelayRepeat, RelayResult } from '../lib/results.ts';
import { productionEnv } from '../lib/stack.ts';
import { ratio } from '../lib/stats.ts';
import type { ScenarioContext } from './context.ts';

/** Inserts `rows` outbox rows in one statement: each a valid event, as requestCard would have written it. */
async function prefill(ctx: ScenarioContext, topic: string, rows: number): Promise<void> {
  await ctx.stack.pool.query(/* sql */ 'TRUNCATE outbox');
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
  // Statistics as a long-running outbox would have them, and no autovacuum wake-up inside the measurement.
  await ctx.stack.pool.query(/* sql */ 'VACUUM ANALYZE outbox');
}

/** The wall-clock time (ms) of the relay's "active relay" log line, once it is there. */
function activeSince(logFile: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(logFile, 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    if (line.includes('"active relay"')) {
      try {
        const time = (JSON.parse(line) as { time?: unknown }).time;
        return typeof time === 'number' ? time : typeof time === 'string' ? Date.parse(time) : undefined;
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/** Messages on a topic (sum of its partitions' high watermarks): the broker's count, not the database's. */
async function onTopic(admin: Admin, topic: string): Promise<number> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return offsets.reduce((sum, partition) => sum + Number(partition.high), 0);
}

async function relayOnce(
  ctx: ScenarioContext,
  topic: string,
  already: number,
): Promise<{ seconds: number; clock: string; cpu: RelayRepeat['cpu'] }> {
  const { stack, profile } = ctx;
  const port = await freePort();
  const readyAt = { ms: 0 };
  const admin = stack.kafka(`${stack.info.prefix}-relay-watch`).admin();
  await admin.connect();
  const relay = await startProcess({
    name: 'outbox-relay-scenario-3',
    script: 'services/card-api/dist/main-outbox-relay.js',
    env: {
      ...productionEnv(stack.info),
      TOPIC_PROVISIONING_COMMANDS: topic,
      TOPIC_PROVISIONING_RESULTS: stack.info.topics.results,
      OUTBOX_BATCH_SIZE: String(profile.relayBatchSize),
      OUTBOX_RELAY_HTTP_PORT: String(port),
    },
    readyUrl: `http://127.0.0.1:${port}/healthz`,
    nodeArgs: stack.nodeArgs,
  });
  readyAt.ms = Date.now();
  try {
    const cpu = measureCpu({ 'outbox-relay': relay.pid });
    const deadline = Date.now() + 300_000;
    // Every 100 ms one ListOffsets request to the broker: the database sees nothing of the watching.
    while ((await onTopic(admin, topic)) - already < profile.relayRows && Date.now() < deadline) {
      await sleep(100);
    }
    const spent = cpu();
    // The last rows' marks land just after their batch is acknowledged; wait for them, then read the times once.
    let last: { left: number; lastPublished: Date | null } = { left: profile.relayRows, lastPublished: null };
    while (Date.now() < deadline) {
      const { rows } = await stack.pool.query<{ left: string; last: Date | null }>(
        /* sql */ 'SELECT count(*) FILTER (WHERE published_at IS NULL) AS left, max(published_at) AS last FROM outbox',
      );
      last = { left: Number(rows[0]?.left ?? 0), lastPublished: rows[0]?.last ?? null };
      if (last.left === 0) {
        break;
      }
      await sleep(200);
    }
    if (last.left > 0 || !last.lastPublished) {
      throw new Error(`${last.left} of ${profile.relayRows} rows still unpublished after 300 s`);
    }
    const active = activeSince(relay.logFile);
    const startMs = active ?? readyAt.ms;
    return {
      seconds: (last.lastPublished.getTime() - startMs) / 1000,
      clock:
        active === undefined
          ? '/healthz (no "active relay" line in its log)'
          : 'its "active relay" log line (producer connected)',
      cpu: spent,
    };
  } finally {
    await relay.stop();
    await admin.disconnect();
  }
}

export async function relayScenario(ctx: ScenarioContext): Promise<RelayResult | undefined> {
  const { stack, profile } = ctx;
  // Nothing else runs: the relay and the producer each have the machine to themselves.
  await stack.stop();
  await stack.truncate();
  const relayTopic = `${stack.info.prefix}.relay`;
  const baselineTopic = `${stack.info.prefix}.relay-baseline`;
  await stack.createTopics([relayTopic, baselineTopic]);
  const repeats: RelayRepeat[] = [];
  let clock = '';
  let onRelayTopic = 0;
  for (let repeat = 0; repeat < profile.relayRepeats; repeat += 1) {
    await prefill(ctx, relayTopic, profile.relayRows);
    const baseline = await ctx.generator.run({
      kind: 'produce',
      databaseUrl: stack.info.databaseUrl,
      brokers: stack.info.brokers,
      clientId: `${stack.info.prefix}-bare-producer`,
      topic: baselineTopic,
      batchSize: profile.relayBatchSize,
    });
    const ours = await relayOnce(ctx, relayTopic, onRelayTopic);
    onRelayTopic += profile.relayRows;
    clock = ours.clock;
    const oursRowsPerSecond = Math.round(profile.relayRows / ours.seconds);
    const baselineRowsPerSecond = Math.round(baseline.rows / baseline.seconds);
    repeats.push({
      oursSeconds: Math.round(ours.seconds * 100) / 100,
      oursRowsPerSecond,
      baselineSeconds: Math.round(baseline.seconds * 100) / 100,
      baselineRowsPerSecond,
      ratio: ratio(oursRowsPerSecond, baselineRowsPerSecond),
      cpu: ours.cpu,
    });
    ctx.log(
      `relay ${repeat + 1}/${profile.relayRepeats}: ${oursRowsPerSecond} rows/s; bare producer ${baselineRowsPerSecond} rows/s`,
    );
  }
  const median = (values: number[]): number => {
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.floor((sorted.length - 1) / 2)] ?? 0;
  };
  const ratios = repeats.flatMap((each) => (each.ratio === undefined ? [] : [each.ratio]));
  await stack.truncate();
  return {
    rows: profile.relayRows,
    batchSize: profile.relayBatchSize,
    repeats,
    oursRowsPerSecond: median(repeats.map((each) => each.oursRowsPerSecond)),
    baselineRowsPerSecond: median(repeats.map((each) => each.baselineRowsPerSecond)),
    ratio: ratios.length > 0 ? median(ratios) : undefined,
    ratioMin: ratios.length > 0 ? Math.min(...ratios) : undefined,
    ratioMax: ratios.length > 0 ? Math.max(...ratios) : undefined,
    clockStart: clock,
  };
}
