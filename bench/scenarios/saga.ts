/**
 * Scenario 2 (and 5, 6): end-to-end saga latency under open-loop load at several rates and provider latencies,
 * measured by the client (long-poll) and from the database's timestamps; beside it the bare two-hop Kafka round
 * trip at the same rate; the peak RSS of every process and the CPU each spent per card.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

import { kafkaTwoHopRoundTrip } from '../baselines/kafka.ts';
import { openLoop, requestCardAndWait, type Journey } from '../lib/load.ts';
import { measureCpu, perCard, resetsPeakRss, trackPeakRss } from '../lib/resources.ts';
import type { SagaResult, SagaRun } from '../lib/results.ts';
import { ALL_SERVICES } from '../lib/stack.ts';
import { percentiles } from '../lib/stats.ts';
import type { ScenarioContext } from './context.ts';

let nextUser = 0;

/** The users' tokens in rotation, across runs, so no user's card limit or long-poll slots come near. */
function nextToken(ctx: ScenarioContext): string {
  nextUser += 1;
  return ctx.users[nextUser % ctx.users.length]?.token ?? '';
}

/** Each run's cards as the database has them: how long each terminal one took, and how many are still PENDING. */
async function databaseOutcome(
  ctx: ScenarioContext,
  cardIds: string[],
): Promise<{ latenciesMs: number[]; pending: number }> {
  // extract() yields numeric, which pg hands over as a string; PENDING cards have no end, hence null.
  const result = await ctx.stack.pool.query<{ ms: string | null }>(
    /* sql */ `SELECT extract(epoch FROM coalesce(activated_at, failed_at) - created_at) * 1000 AS ms
               FROM cards WHERE id = ANY($1::uuid[])`,
    [cardIds],
  );
  const latenciesMs = result.rows.flatMap((row) => (row.ms === null ? [] : [Number(row.ms)]));
  return { latenciesMs, pending: result.rows.length - latenciesMs.length };
}

/** A few cards through the whole saga first: consumer groups joined, connections open, JIT warm. */
async function warmUp(ctx: ScenarioContext): Promise<boolean> {
  const api = ctx.stack.url('card-api');
  const deadline = performance.now() + 60_000;
  const journeys = await Promise.all(
    Array.from({ length: 20 }, () => requestCardAndWait(api, nextToken(ctx), performance.now(), deadline)),
  );
  return journeys.every((journey) => journey.terminalAt !== undefined);
}

/**
 * Waits (at most `drainSeconds`) until no card is PENDING: an overloaded run leaves work behind, and the next run
 * must not pay for it. Says how long it waited and what was left.
 */
async function settle(ctx: ScenarioContext): Promise<void> {
  const started = performance.now();
  const deadline = started + ctx.profile.drainSeconds * 1000;
  for (;;) {
    const { rows } = await ctx.stack.pool.query<{ pending: string }>(
      /* sql */ `SELECT count(*) AS pending FROM cards WHERE status = 'PENDING'`,
    );
    const pending = Number(rows[0]?.pending ?? 0);
    if (pending === 0 || performance.now() > deadline) {
      if (pending > 0 || performance.now() - started > 1000) {
        ctx.log(`settled for ${Math.round(performance.now() - started)} ms; ${pending} cards still PENDING`);
      }
      return;
    }
    await sleep(250);
  }
}

async function sagaRun(ctx: ScenarioContext, rate: number, providerLatencyMs: number): Promise<SagaRun> {
  const { stack, profile } = ctx;
  await settle(ctx);
  const api = stack.url('card-api');
  const pids = Object.fromEntries([...stack.processes].map(([name, running]) => [name, running.pid]));
  const deadline = performance.now() + (profile.sagaSeconds + profile.drainSeconds) * 1000;
  const pending: Promise<Journey>[] = [];
  const cpu = measureCpu(pids);
  const peaks = trackPeakRss(pids);
  const { sent, lagMs } = await openLoop(rate, profile.sagaSeconds, (_index, scheduledAt) => {
    pending.push(requestCardAndWait(api, nextToken(ctx), scheduledAt, deadline));
  });
  const journeys = await Promise.all(pending);
  const spent = cpu();
  const peakRssMB = peaks().peaks;

  const terminal = journeys.filter((journey) => journey.terminalAt !== undefined);
  const errored = journeys.filter((journey) => journey.error !== undefined);
  const cardIds = journeys.flatMap((journey) => (journey.cardId ? [journey.cardId] : []));
  const database = await databaseOutcome(ctx, cardIds);
  const run: SagaRun = {
    rate,
    providerLatencyMs,
    seconds: profile.sagaSeconds,
    sent,
    terminal: terminal.length,
    failed: terminal.filter((journey) => journey.status === 'FAILED').length,
    notTerminal: database.pending,
    errors: errored.length,
    pollErrors: journeys.reduce((sum, journey) => sum + journey.pollErrors, 0),
    errorSamples: [...new Set(errored.map((journey) => journey.error ?? ''))].slice(0, 3),
    achievedPerSecond: Math.round(terminal.length / profile.sagaSeconds),
    acceptMs: percentiles(
      journeys.flatMap((journey) => (journey.acceptedAt ? [journey.acceptedAt - journey.startedAt] : [])),
    ),
    endToEndClientMs: percentiles(terminal.map((journey) => (journey.terminalAt ?? 0) - journey.startedAt)),
    endToEndDatabaseMs: percentiles(database.latenciesMs),
    sendLagMs: percentiles(lagMs),
    cpu: spent,
    cpuPerCard: perCard(spent, terminal.length),
    peakRssMB,
  };
  ctx.log(
    `saga ${rate}/s, provider ${providerLatencyMs} ms: p50 ${run.endToEndClientMs.p50} ms, p99 ` +
      `${run.endToEndClientMs.p99} ms, ${run.terminal}/${sent} terminal, ${run.errors} errors`,
  );
  // Broken, not slow: at the lowest rate every accepted card must end, and no run may end no card at all. Errors
  // and slowness under overload are reported, never failed on (a noisy CI machine must not turn them red).
  const lowest = rate === Math.min(...profile.sagaRates);
  if (run.terminal === 0 || (lowest && run.notTerminal > 0)) {
    ctx.failures.push(
      `saga at ${rate}/s, provider ${providerLatencyMs} ms: ${run.terminal} cards terminal, ${run.notTerminal} still ` +
        `PENDING, ${run.errors} requests failed` +
        (run.errorSamples.length > 0 ? ` (${run.errorSamples.join('; ')})` : ''),
    );
  }
  return run;
}

async function kafkaBaseline(
  ctx: ScenarioContext,
  rate: number,
): Promise<SagaResult['kafkaBaseline'][number]> {
  const { stack, profile } = ctx;
  const topics: [string, string] = [`${stack.info.prefix}.hop1.${rate}`, `${stack.info.prefix}.hop2.${rate}`];
  await stack.createTopics(topics);
  const outcome = await kafkaTwoHopRoundTrip({
    kafka: stack.kafka(`${stack.info.prefix}-two-hop`),
    topics,
    groupPrefix: `${stack.info.prefix}.two-hop.${rate}`,
    rate,
    seconds: profile.sagaSeconds,
  });
  const latencyMs = percentiles(outcome.latenciesMs);
  ctx.log(
    `bare kafka two hops ${rate}/s: p50 ${latencyMs.p50} ms, p99 ${latencyMs.p99} ms, ${outcome.lost} lost`,
  );
  if (outcome.latenciesMs.length === 0) {
    ctx.failures.push(`kafka two-hop baseline at ${rate}/s: no message came back`);
  }
  return { rate, seconds: profile.sagaSeconds, sent: outcome.sent, lost: outcome.lost, latencyMs };
}

/** Runs every rate at every provider latency, each rate's Kafka baseline beside its first run. */
export async function sagaScenario(ctx: ScenarioContext): Promise<SagaResult | undefined> {
  const { stack, profile } = ctx;
  await stack.start(ALL_SERVICES);
  if (!(await warmUp(ctx))) {
    ctx.failures.push('saga: the warm-up cards never reached a terminal state');
    return undefined;
  }
  // Each run resets and reads the peaks of its own (so a peak can be tied to the load that caused it).
  const sinceStart = resetsPeakRss(
    Object.fromEntries([...stack.processes].map(([name, running]) => [name, running.pid])),
  );
  const runs: SagaRun[] = [];
  const kafkaBaselines: SagaResult['kafkaBaseline'] = [];
  for (const providerLatencyMs of profile.providerLatenciesMs) {
    await stack.setProviderLatency(providerLatencyMs);
    for (const rate of profile.sagaRates) {
      if (providerLatencyMs === profile.providerLatenciesMs[0]) {
        kafkaBaselines.push(await kafkaBaseline(ctx, rate));
      }
      runs.push(await sagaRun(ctx, rate, providerLatencyMs));
    }
  }
  const peakRssMB: Record<string, number> = {};
  for (const run of runs) {
    for (const [name, mb] of Object.entries(run.peakRssMB)) {
      peakRssMB[name] = Math.max(peakRssMB[name] ?? 0, mb);
    }
  }
  await stack.setProviderLatency(0);
  return { runs, kafkaBaseline: kafkaBaselines, peakRssMB, peakRssScenarioOnly: sinceStart };
}
