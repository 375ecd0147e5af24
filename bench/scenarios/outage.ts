/**
 * Scenario 7: the provider goes down in the middle of a run (PUT /control/faults { outage: true }: every call
 * answered 503 at once) and comes back; both designs at the same rate, half our capacity at the synchronous
 * comparison's provider latency. Counted: requests refused, and cards asked for that never became ACTIVE.
 */
import { setTimeout as sleep } from 'node:timers/promises';

import type { Journey } from '../lib/generator.ts';
import type { OutageOutcome, OutageResult } from '../lib/results.ts';
import { percentiles } from '../lib/stats.ts';
import type { ScenarioContext } from './context.ts';
import { startWarmStack } from './saga.ts';
import { PIPELINE, startSyncServer } from './sync.ts';

async function withOutage(
  ctx: ScenarioContext,
  apiUrl: string,
  design: 'ours' | 'sync',
  rate: number,
): Promise<OutageOutcome> {
  const { stack, profile } = ctx;
  const drainSeconds = design === 'ours' ? profile.outageDrainSeconds : profile.pointDrainSeconds;
  const run = ctx.generator.run({
    kind: 'cards',
    apiUrl,
    design,
    rate,
    seconds: profile.outageSeconds,
    drainSeconds,
  });
  try {
    await sleep(profile.outageFromSecond * 1000);
    await stack.setProviderFaults({ outage: true });
    ctx.log(`outage (${design}): provider down for ${profile.outageDownSeconds} s`);
    await sleep(profile.outageDownSeconds * 1000);
  } finally {
    await stack.setProviderFaults({ outage: false });
  }
  const { journeys, sent } = await run;
  const from = profile.outageFromSecond * 1000;
  const to = from + profile.outageDownSeconds * 1000;
  const refused = journeys.filter((journey: Journey) => journey.error !== undefined);
  const active = journeys.filter(
    (journey) => journey.terminalMs !== undefined && journey.status === 'ACTIVE',
  );
  const failed = journeys.filter(
    (journey) => journey.terminalMs !== undefined && journey.status === 'FAILED',
  );
  const neverTerminal = journeys.filter(
    (journey) => journey.cardId !== undefined && journey.terminalMs === undefined,
  );
  const outcome: OutageOutcome = {
    sent,
    refused: refused.length,
    refusedDuringOutage: refused.filter((journey) => journey.at >= from && journey.at < to).length,
    active: active.length,
    failed: failed.length,
    neverTerminal: neverTerminal.length,
    lost: refused.length + failed.length + neverTerminal.length,
    endToEndClientMs: percentiles(active.map((journey) => journey.terminalMs ?? 0)),
    drainSeconds,
  };
  ctx.log(
    `outage (${design}) at ${rate}/s: ${outcome.refused} refused, ${outcome.failed} failed, ` +
      `${outcome.neverTerminal} never terminal, ${outcome.active}/${sent} ACTIVE`,
  );
  if (outcome.active === 0) {
    ctx.failures.push(`outage (${design}): no card became ACTIVE`);
  }
  return outcome;
}

export async function outageScenario(
  ctx: ScenarioContext,
  oursCapacity: number | undefined,
): Promise<OutageResult> {
  const { stack, profile } = ctx;
  const providerLatencyMs = profile.syncProviderLatencyMs;
  const rate = oursCapacity ? Math.max(1, Math.round(oursCapacity / 2)) : profile.outageFallbackRate;
  await startWarmStack(ctx);
  await stack.setProviderLatency(providerLatencyMs);
  const ours = await withOutage(ctx, stack.url('card-api'), 'ours', rate);

  await stack.stop(PIPELINE);
  await stack.truncate();
  const { server, url } = await startSyncServer(stack);
  let synchronous: OutageOutcome;
  try {
    synchronous = await withOutage(ctx, url, 'sync', rate);
  } finally {
    await server.stop();
  }
  await stack.setProviderLatency(0);
  await stack.truncate();
  return {
    rate,
    providerLatencyMs,
    seconds: profile.outageSeconds,
    outageFromSecond: profile.outageFromSecond,
    outageSeconds: profile.outageDownSeconds,
    ours,
    synchronous,
  };
}
