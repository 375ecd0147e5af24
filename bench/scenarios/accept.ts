/**
 * Scenario 1: accept throughput. POST /v1/cards at fixed concurrency (autocannon), each request signed for the next
 * user in rotation, against card-api alone and against the bare node:http + pg server doing the same transaction.
 */
import autocannon from 'autocannon';

import { startProcess, freePort } from '../lib/processes.ts';
import { measureCpu, perCard } from '../lib/resources.ts';
import type { AcceptResult, ClosedLoopHttp } from '../lib/results.ts';
import { STACK_SETTINGS } from '../lib/stack.ts';
import type { ScenarioContext } from './context.ts';

const BODY = '{"color":"gold"}';

/** autocannon at fixed concurrency; `headersFor(i)` gives the i-th request's headers (a user in rotation). */
async function hammer(
  url: string,
  connections: number,
  seconds: number,
  headersFor: (index: number) => Record<string, string>,
): Promise<autocannon.Result> {
  let index = 0;
  return autocannon({
    url,
    connections,
    duration: seconds,
    requests: [
      {
        method: 'POST',
        path: '/v1/cards',
        body: BODY,
        setupRequest: (request) => ({ ...request, headers: headersFor(index++) }),
      },
    ],
  });
}

async function measure(
  ctx: ScenarioContext,
  label: string,
  url: string,
  pids: Record<string, number>,
  headersFor: (index: number) => Record<string, string>,
): Promise<ClosedLoopHttp> {
  const { acceptConnections, acceptSeconds, acceptWarmupSeconds } = ctx.profile;
  await ctx.stack.truncate();
  // A short run first: JIT, pool connections and caches warm, so the measured seconds are steady state.
  await hammer(url, acceptConnections, acceptWarmupSeconds, headersFor);
  await ctx.stack.truncate();
  const cpu = measureCpu(pids);
  const result = await hammer(url, acceptConnections, acceptSeconds, headersFor);
  const spent = cpu();
  const ok = result['2xx'];
  const errors = result.non2xx + result.errors;
  ctx.log(
    `accept ${label}: ${Math.round(ok / result.duration)} ok/s, p50 ${result.latency.p50} ms, ${errors} errors`,
  );
  // Only a scenario that does not work at all fails the run; errors under load are reported in the table.
  if (ok === 0) {
    ctx.failures.push(`accept (${label}): no request succeeded`);
  }
  return {
    requestsPerSecond: Math.round(ok / result.duration),
    latencyMs: { p50: result.latency.p50, p99: result.latency.p99, max: result.latency.max },
    ok,
    errors,
    cpu: spent,
    cpuPerRequest: perCard(spent, ok),
  };
}

/** Runs the bare baseline, then ours (card-api alone: nothing else competes for the two cores). */
export async function acceptScenario(ctx: ScenarioContext): Promise<AcceptResult> {
  const { stack, users, profile } = ctx;
  const contentType = { 'content-type': 'application/json' };
  const userAt = (index: number) => users[index % users.length] ?? users[0];

  const port = await freePort();
  const bare = await startProcess({
    name: 'bare-card-server',
    script: 'bench/baselines/bare-card-server.ts',
    env: {
      PORT: String(port),
      DATABASE_URL: stack.info.databaseUrl,
      POOL_MAX: String(STACK_SETTINGS.poolMax),
      TOPIC: stack.info.topics.commands,
    },
    readyUrl: `http://127.0.0.1:${port}/healthz`,
  });
  let baseline: ClosedLoopHttp;
  try {
    baseline = await measure(
      ctx,
      'bare node:http + pg',
      `http://127.0.0.1:${port}`,
      { 'bare-card-server': bare.pid },
      (i) => ({
        ...contentType,
        'x-user-id': userAt(i)?.id ?? '',
      }),
    );
  } finally {
    await bare.stop();
  }

  await stack.start(['card-api']);
  const api = stack.processes.get('card-api');
  const ours = await measure(ctx, 'card-api', stack.url('card-api'), { 'card-api': api?.pid ?? 0 }, (i) => ({
    ...contentType,
    authorization: `Bearer ${userAt(i)?.token ?? ''}`,
  }));
  await stack.truncate();
  return {
    connections: profile.acceptConnections,
    seconds: profile.acceptSeconds,
    users: users.length,
    ours,
    baseline,
  };
}
