/**
 * Scenario 4: capacity against the seed's synchronous design, both driven open loop with the provider answering in
 * 200 ms: each design's highest offered rate with every card terminal and p99 request → terminal under a second,
 * found by the same bisection. Ours: 202, then the client long-polls until terminal; the synchronous server
 * (baselines/sync-card-server.ts: the same authentication, limit check and transaction) answers once the provider
 * has. While the synchronous design is measured, only the mock provider of ours runs.
 */
import { cardsPoint } from '../lib/cards-run.ts';
import { searchKnee } from '../lib/knee.ts';
import { freePort, startProcess, type BenchProcess } from '../lib/processes.ts';
import type { KneeSearch, SyncResult } from '../lib/results.ts';
import { ALL_SERVICES, STACK_SETTINGS, type Stack } from '../lib/stack.ts';
import type { ScenarioContext } from './context.ts';
import { nextSearch, oursKnee, warmUp } from './saga.ts';

/** Starts the synchronous design's server on this run's database and provider; the caller stops it. */
export async function startSyncServer(stack: Stack): Promise<{ server: BenchProcess; url: string }> {
  const topic = `${stack.info.prefix}.sync-outbox`;
  // The accept transaction writes its outbox row, as ours does; nothing relays it while the design is measured.
  await stack.createTopics([topic]);
  const port = await freePort();
  const server = await startProcess({
    name: 'sync-card-server',
    script: 'bench/baselines/sync-card-server.ts',
    env: {
      PORT: String(port),
      DATABASE_URL: stack.info.databaseUrl,
      POOL_MAX: String(STACK_SETTINGS.poolMax),
      PROVIDER_URL: stack.url('mock-provider'),
      TOPIC: topic,
      JWT_SECRET: stack.info.jwtSecret,
      JWT_ISSUER: 'card-issuing-bench',
      JWT_AUDIENCE: 'card-api',
    },
    readyUrl: `http://127.0.0.1:${port}/healthz`,
  });
  return { server, url: `http://127.0.0.1:${port}` };
}

/** The pipeline of ours stops while the synchronous design runs (it has none); the provider stays. */
export const PIPELINE = ALL_SERVICES.filter((name) => name !== 'mock-provider');

/** `oursKneeAtZero`: the knee scenario 2 found with an instant provider, where ours' search may start near. */
export async function syncScenario(
  ctx: ScenarioContext,
  oursKneeAtZero: KneeSearch | undefined,
): Promise<SyncResult | undefined> {
  const { stack, profile } = ctx;
  const providerLatencyMs = profile.syncProviderLatencyMs;
  await stack.start(ALL_SERVICES);
  if (!(await warmUp(ctx, stack.url('card-api')))) {
    ctx.failures.push('sync comparison: the warm-up cards never reached a terminal state');
    return undefined;
  }
  const ours = await oursKnee(ctx, providerLatencyMs, nextSearch(profile.syncKnee, oursKneeAtZero));

  await stack.stop(PIPELINE);
  await stack.truncate();
  await stack.setProviderLatency(providerLatencyMs);
  const { server, url } = await startSyncServer(stack);
  let synchronous: KneeSearch;
  try {
    const pids = {
      'sync-card-server': server.pid,
      'mock-provider': stack.processes.get('mock-provider')?.pid ?? 0,
    };
    const search = await searchKnee(profile.syncKnee, (rate, purpose) =>
      cardsPoint(ctx, { design: 'sync', purpose, apiUrl: url, rate, providerLatencyMs, pids }),
    );
    synchronous = { design: 'sync', providerLatencyMs, ...search };
    ctx.log(
      `knee of the synchronous design: ${search.knee ?? 'none'} cards/s (first bad ${search.firstBad ?? 'none'})`,
    );
  } finally {
    await server.stop();
  }
  await stack.setProviderLatency(0);
  // The synchronous design leaves PENDING cards (and unrelayed outbox rows) behind where the provider failed.
  await stack.truncate();
  for (const [label, search] of [
    ['ours', ours],
    ['synchronous', synchronous],
  ] as const) {
    if (!search.points.some((point) => point.terminal > 0)) {
      ctx.failures.push(`sync comparison (${label}): no card completed at any rate`);
    }
  }
  return { providerLatencyMs, ours, synchronous };
}
