import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

import type { ScenarioContext } from '../scenarios/context.ts';
import type { Journey } from './generator.ts';
import { measureCpu, perCard, trackPeakRss } from './resources.ts';
import type { CardsPoint, StageLatencies } from './results.ts';
import { percentiles } from './stats.ts';

/** Issue 7's ceiling for request → terminal. */
export const P99_LIMIT_MS = 1000;

/**
 * Waits (at most `settleSeconds`) until no card is PENDING: an overloaded point leaves work behind, and the next
 * must not pay for it. One cheap query every half second, between points only.
 */
export async function settle(ctx: ScenarioContext, seconds = ctx.profile.settleSeconds): Promise<number> {
  const started = performance.now();
  const deadline = started + seconds * 1000;
  for (;;) {
    const { rows } = await ctx.stack.pool.query<{ pending: string }>(
      /* sql */ `SELECT count(*) AS pending FROM cards WHERE status = 'PENDING'`,
    );
    const pending = Number(rows[0]?.pending ?? 0);
    if (pending === 0 || performance.now() > deadline) {
      if (pending > 0 || performance.now() - started > 1000) {
        ctx.log(`settled for ${Math.round(performance.now() - started)} ms; ${pending} cards still PENDING`);
      }
      return pending;
    }
    await sleep(500);
  }
}

type Row = Record<'accept' | 'total' | 'published' | 'provider' | 'received' | 'applied', string | null>;

/**
 * Each card's latencies by stage, from the database's own timestamps (read after the point, never during it); the
 * accept from the request's scheduled send (the generator's clock, the same machine's) to the card's created_at.
 */
async function databaseStages(
  ctx: ScenarioContext,
  sent: { cardId: string; scheduledEpochMs: number }[],
): Promise<{ total: number[]; stages: StageLatencies }> {
  const { rows } = await ctx.stack.pool.query<Row>(
    /* sql */ `SELECT extract(epoch FROM c.created_at) * 1000 - s.scheduled_ms AS accept,
                      extract(epoch FROM coalesce(c.activated_at, c.failed_at) - c.created_at) * 1000 AS total,
                      extract(epoch FROM o.published_at - o.created_at) * 1000 AS published,
                      extract(epoch FROM i.occurred_at - o.published_at) * 1000 AS provider,
                      extract(epoch FROM i.received_at - i.occurred_at) * 1000 AS received,
                      extract(epoch FROM coalesce(c.activated_at, c.failed_at) - i.received_at) * 1000 AS applied
               FROM unnest($1::uuid[], $2::float8[]) AS s(card_id, scheduled_ms)
               JOIN cards c ON c.id = s.card_id
               LEFT JOIN outbox o ON o.key = c.id::text AND o.type = 'card.provision.requested'
               LEFT JOIN LATERAL (SELECT occurred_at, received_at FROM inbox
                                  WHERE inbox.card_id = c.id ORDER BY received_at LIMIT 1) i ON true
`,
    [sent.map((card) => card.cardId), sent.map((card) => card.scheduledEpochMs)],
  );
  const column = (name: keyof Row): number[] =>
    rows.flatMap((row) => (row[name] === null ? [] : [Number(row[name])]));
  return {
    total: column('total'),
    stages: {
      accept: percentiles(column('accept')),
      outboxToPublished: percentiles(column('published')),
      publishedToProviderAnswered: percentiles(column('provider')),
      providerAnsweredToReceived: percentiles(column('received')),
      receivedToApplied: percentiles(column('applied')),
    },
  };
}

/**
 * One open-loop point: `rate` cards/s for `seconds`, sent by the load generator to ours (202 then long-poll) or to
 * the synchronous design (201 when the provider has answered); CPU of `pids`, PostgreSQL, Kafka, the generator and
 * the machine; peak RSS of `pids`; for ours, each stage's latency from the database.
 */
export async function cardsPoint(
  ctx: ScenarioContext,
  options: {
    design: 'ours' | 'sync';
    purpose: CardsPoint['purpose'];
    apiUrl: string | readonly string[];
    rate: number;
    providerLatencyMs: number;
    pids: Record<string, number>;
    seconds?: number;
    drainSeconds?: number;
  },
): Promise<CardsPoint> {
  const { profile } = ctx;
  const seconds = options.seconds ?? profile.pointSeconds;
  if (options.design === 'ours') {
    await settle(ctx);
  }
  const cpu = measureCpu(options.pids);
  const peaks = trackPeakRss(options.pids);
  const reply = await ctx.generator.run({
    kind: 'cards',
    apiUrl: options.apiUrl,
    design: options.design,
    rate: options.rate,
    seconds,
    drainSeconds: options.drainSeconds ?? profile.pointDrainSeconds,
  });
  const spent = cpu();
  const peakRssMB = peaks().peaks;
  const { journeys } = reply;
  const terminal = journeys.filter((journey) => journey.terminalMs !== undefined);
  const errored = journeys.filter((journey) => journey.error !== undefined);
  const accepted = journeys.filter((journey) => journey.cardId !== undefined);
  const sentCards = accepted.flatMap((journey) =>
    journey.cardId ? [{ cardId: journey.cardId, scheduledEpochMs: journey.scheduledEpochMs }] : [],
  );
  const database =
    options.design === 'ours' && sentCards.length > 0 ? await databaseStages(ctx, sentCards) : undefined;
  const endToEndClientMs = percentiles(terminal.map((journey) => journey.terminalMs ?? 0));
  // Ours answers its POST when the card is terminal (Prefer: wait): its accept is the database's created_at.
  const acceptMs =
    database?.stages.accept ??
    percentiles(journeys.flatMap((journey) => (journey.acceptMs === undefined ? [] : [journey.acceptMs])));
  const notTerminal = accepted.length - terminal.length;
  const point: CardsPoint = {
    design: options.design,
    purpose: options.purpose,
    rate: options.rate,
    providerLatencyMs: options.providerLatencyMs,
    seconds,
    sent: reply.sent,
    terminal: terminal.length,
    failed: terminal.filter((journey) => journey.status === 'FAILED').length,
    notTerminal,
    errors: errored.length,
    pollErrors: journeys.reduce((sum, journey) => sum + journey.pollErrors, 0),
    errorSamples: [...new Set(errored.map((journey) => journey.error ?? ''))].slice(0, 3),
    achievedPerSecond: Math.round(terminal.length / seconds),
    acceptMs,
    endToEndClientMs,
    endToEndDatabaseMs: database && percentiles(database.total),
    stagesMs: database?.stages,
    sendLagMs: reply.sendLagMs,
    cpu: spent,
    cpuPerCard: perCard(spent, terminal.length),
    peakRssMB,
    good:
      errored.length === 0 &&
      notTerminal === 0 &&
      terminal.length >= reply.sent * 0.99 &&
      endToEndClientMs.p99 < P99_LIMIT_MS,
  };
  ctx.log(
    `${options.design === 'ours' ? 'ours' : 'synchronous'} ${options.rate}/s, provider ${options.providerLatencyMs} ms: ` +
      `p50 ${endToEndClientMs.p50} ms, p99 ${endToEndClientMs.p99} ms, ${point.terminal}/${point.sent} terminal, ` +
      `${point.errors} errors → ${point.good ? 'good' : 'not good'}`,
  );
  return point;
}

/** Journeys of a run, for scenarios that need more than a point's summary (the outage). */
export type { Journey };
