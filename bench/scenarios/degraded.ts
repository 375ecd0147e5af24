/**
 * Scenario 8: the provider degraded for a whole run (issue 13, item 11): 20% of calls answered 5xx, 5% hanging past
 * the worker's timeout, 2% answered with a malformed body. Our stack at half its capacity; counted: the share of
 * accepted cards that end ACTIVE (target: 99%), and why the rest failed.
 */
import type { DegradedResult } from '../lib/results.ts';
import { percentiles } from '../lib/stats.ts';
import type { ScenarioContext } from './context.ts';
import { startWarmStack } from './saga.ts';

export const DEGRADED_PROVIDER = { errorRate: 0.2, hangRate: 0.05, malformedRate: 0.02 };

export async function degradedScenario(
  ctx: ScenarioContext,
  oursCapacity: number | undefined,
): Promise<DegradedResult> {
  const { stack, profile } = ctx;
  const rate = oursCapacity ? Math.max(1, Math.round(oursCapacity / 2)) : profile.outageFallbackRate;
  await startWarmStack(ctx);
  await stack.setProviderFaults(DEGRADED_PROVIDER);
  ctx.log(
    `degraded provider at ${rate}/s for ${profile.degradedSeconds} s: ${JSON.stringify(DEGRADED_PROVIDER)}`,
  );
  let run;
  try {
    // The faults stay on through the drain: the last cards' retries meet them too.
    run = await ctx.generator.run({
      kind: 'cards',
      apiUrl: stack.url('card-api'),
      design: 'ours',
      rate,
      seconds: profile.degradedSeconds,
      drainSeconds: profile.outageDrainSeconds,
    });
  } finally {
    await stack.setProviderFaults({ errorRate: 0, hangRate: 0, malformedRate: 0 });
  }
  const { journeys, sent } = run;
  const accepted = journeys.filter((journey) => journey.cardId !== undefined);
  const active = accepted.filter(
    (journey) => journey.terminalMs !== undefined && journey.status === 'ACTIVE',
  );
  const neverTerminal = accepted.filter((journey) => journey.terminalMs === undefined);
  const failedIds = accepted
    .filter((journey) => journey.terminalMs !== undefined && journey.status === 'FAILED')
    .map((journey) => journey.cardId);
  const { rows } = await stack.pool.query<{ code: string | null; count: string }>(
    /* sql */ `SELECT failure_code AS code, count(*) AS count FROM cards WHERE id = ANY($1::uuid[]) GROUP BY 1`,
    [failedIds],
  );
  const result: DegradedResult = {
    rate,
    seconds: profile.degradedSeconds,
    faults: DEGRADED_PROVIDER,
    sent,
    accepted: accepted.length,
    active: active.length,
    activeShare: accepted.length === 0 ? 0 : active.length / accepted.length,
    neverTerminal: neverTerminal.length,
    failedByCode: Object.fromEntries(rows.map((row) => [row.code ?? 'none', Number(row.count)])),
    endToEndClientMs: percentiles(active.map((journey) => journey.terminalMs ?? 0)),
  };
  ctx.log(
    `degraded provider: ${result.active}/${result.accepted} ACTIVE (${(result.activeShare * 100).toFixed(2)}%), ` +
      `failed ${JSON.stringify(result.failedByCode)}, ${result.neverTerminal} never terminal`,
  );
  if (result.active === 0) {
    ctx.failures.push('degraded: no card became ACTIVE');
  }
  await stack.truncate();
  return result;
}
