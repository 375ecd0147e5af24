/**
 * Scenario 2 (and 5, 6, 8): the knee of ours, end to end under open-loop load, per provider latency: the highest
 * offered rate with every card terminal and p99 request → terminal under a second, found by bisection. At each
 * knee the CPU per terminal card and each stage's latency; a run at twice the provider-0 knee for the memory and
 * behaviour past it; beside them the bare two-hop Kafka round trip at the knee.
 */
import { performance } from 'node:perf_hooks';

import { cardsPoint, settle } from '../lib/cards-run.ts';
import { searchKnee } from '../lib/knee.ts';
import type { KneeSettings } from '../lib/profile.ts';
import { resetsPeakRss } from '../lib/resources.ts';
import type { CardsPoint, KneeSearch, SagaResult } from '../lib/results.ts';
import { ALL_SERVICES } from '../lib/stack.ts';
import type { ScenarioContext } from './context.ts';

/** Cards through the whole saga first (profile.warmUp): consumer groups joined, connections open, JIT warm. */
export async function warmUp(ctx: ScenarioContext, apiUrl: string | readonly string[]): Promise<boolean> {
  const started = performance.now();
  const { journeys } = await ctx.generator.run({
    kind: 'cards',
    apiUrl,
    design: 'ours',
    ...ctx.profile.warmUp,
    drainSeconds: 60,
  });
  const errors = [...new Set(journeys.flatMap((journey) => journey.error ?? []))];
  ctx.log(
    `warm-up: ${journeys.length} cards in ${Math.round(performance.now() - started)} ms` +
      (errors.length > 0 ? `; errors: ${errors.slice(0, 3).join('; ')}` : ''),
  );
  return journeys.length > 0 && journeys.every((journey) => journey.terminalMs !== undefined);
}

/** Every process up, the provider without faults, the saga warmed up and settled: where a fault scenario starts. */
export async function startWarmStack(ctx: ScenarioContext): Promise<void> {
  const { stack } = ctx;
  await stack.start(ALL_SERVICES);
  await stack.setProviderFaults({ outage: false, latencyMs: 0 });
  if (!(await warmUp(ctx, stack.url('card-api')))) {
    throw new Error('the warm-up cards never reached a terminal state');
  }
  await settle(ctx);
}

/**
 * A later search starts near the first one's knee (a slower provider moves the knee a little, not by doublings),
 * which saves the doubling steps up to it; a start that proves bad halves downwards.
 */
export function nextSearch(settings: KneeSettings, first: KneeSearch | undefined): KneeSettings {
  return first?.knee === undefined
    ? settings
    : { ...settings, start: Math.max(settings.resolutionMin, Math.round(first.knee * 0.8)) };
}

/** The knee search of ours at one provider latency. */
export async function oursKnee(
  ctx: ScenarioContext,
  providerLatencyMs: number,
  settings = ctx.profile.knee,
): Promise<KneeSearch> {
  await ctx.stack.setProviderLatency(providerLatencyMs);
  // Each search starts from empty tables, once the previous one's cards have ended.
  await settle(ctx);
  await ctx.stack.truncate();
  const search = await searchKnee(settings, (rate, purpose) =>
    cardsPoint(ctx, {
      design: 'ours',
      purpose,
      apiUrl: ctx.stack.urls('card-api'),
      rate,
      providerLatencyMs,
      pids: ctx.stack.pids(),
    }),
  );
  ctx.log(
    `knee of ours, provider ${providerLatencyMs} ms: ${search.knee ?? 'none'} cards/s (first bad ${search.firstBad ?? 'none'})`,
  );
  return { design: 'ours', providerLatencyMs, ...search };
}

async function kafkaBaseline(
  ctx: ScenarioContext,
  rate: number,
): Promise<SagaResult['kafkaBaseline'][number]> {
  const { stack, profile } = ctx;
  const topics: [string, string] = [`${stack.info.prefix}.hop1.${rate}`, `${stack.info.prefix}.hop2.${rate}`];
  await stack.createTopics(topics);
  // In the load generator's process too: the orchestrator only waits.
  const outcome = await ctx.generator.run({
    kind: 'two-hop',
    brokers: stack.info.brokers,
    clientId: `${stack.info.prefix}-two-hop`,
    topics,
    groupPrefix: `${stack.info.prefix}.two-hop.${rate}`,
    rate,
    seconds: profile.pointSeconds,
  });
  const { latencyMs } = outcome;
  ctx.log(
    `bare kafka two hops ${rate}/s: p50 ${latencyMs.p50} ms, p99 ${latencyMs.p99} ms, ${outcome.lost} lost`,
  );
  if (outcome.received === 0) {
    ctx.failures.push(`kafka two-hop baseline at ${rate}/s: no message came back`);
  }
  return { rate, seconds: profile.pointSeconds, sent: outcome.sent, lost: outcome.lost, latencyMs };
}

/** Every provider latency's knee, the overload run, the Kafka baseline; fails the run only when nothing works. */
export async function sagaScenario(ctx: ScenarioContext): Promise<SagaResult | undefined> {
  const { stack, profile } = ctx;
  await stack.start(ALL_SERVICES);
  if (!(await warmUp(ctx, stack.url('card-api')))) {
    ctx.failures.push('saga: the warm-up cards never reached a terminal state');
    return undefined;
  }
  const sinceStart = resetsPeakRss(ctx.stack.pids());
  const searches: KneeSearch[] = [];
  for (const providerLatencyMs of profile.providerLatenciesMs) {
    searches.push(await oursKnee(ctx, providerLatencyMs, nextSearch(profile.knee, searches[0])));
  }
  // Broken, not slow: some point must have ended cards. Slowness and cards still on their way when a point's drain
  // ended are reported, never failed on (CI machines are noisy); the warm-up above proved every card can end.
  for (const search of searches) {
    const first = search.points[0];
    if (!search.points.some((point) => point.terminal > 0)) {
      ctx.failures.push(
        `saga, provider ${search.providerLatencyMs} ms: no card terminal at any rate` +
          (first && first.errorSamples.length > 0 ? ` (${first.errorSamples.join('; ')})` : ''),
      );
    }
  }

  // Past the knee: twice the provider-0 knee, for the memory each process needs in overload (and what it does).
  const overload: CardsPoint[] = [];
  const base = searches[0];
  const kneeRate = base?.knee ?? base?.firstBad ?? profile.knee.start;
  await stack.setProviderLatency(base?.providerLatencyMs ?? 0);
  overload.push(
    await cardsPoint(ctx, {
      design: 'ours',
      purpose: 'overload',
      apiUrl: stack.url('card-api'),
      rate: kneeRate * 2,
      providerLatencyMs: base?.providerLatencyMs ?? 0,
      pids: ctx.stack.pids(),
    }),
  );
  const kafkaBaselines = [await kafkaBaseline(ctx, kneeRate)];

  const peakRssMB: Record<string, number> = {};
  for (const point of [...searches.flatMap((search) => search.points), ...overload]) {
    for (const [name, mb] of Object.entries(point.peakRssMB)) {
      peakRssMB[name] = Math.max(peakRssMB[name] ?? 0, mb);
    }
  }
  await stack.setProviderLatency(0);
  return { searches, overload, kafkaBaseline: kafkaBaselines, peakRssMB, peakRssScenarioOnly: sinceStart };
}
