/**
 * Scenario 1: accept throughput. POST /v1/cards at fixed concurrency from the load generator's process, each
 * request for the next user in rotation, against card-api alone and against the bare node:http + pg server running
 * the same accept SQL on a pool of the same size; and that SQL run by pgbench with as many connections, the
 * database's own ceiling on this machine.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

import { pgbenchScript, resolveAcceptSql } from '../baselines/accept-sql.ts';
import { freePort, LOG_DIR, ROOT, startProcess } from '../lib/processes.ts';
import { measureCpu, perCard } from '../lib/resources.ts';
import type { AcceptResult, ClosedLoopHttp, PgbenchResult } from '../lib/results.ts';
import { STACK_SETTINGS } from '../lib/stack.ts';
import type { ScenarioContext } from './context.ts';

const run = promisify(execFile);

async function measure(
  ctx: ScenarioContext,
  label: string,
  url: string,
  pids: Record<string, number>,
  auth: 'token' | 'user-id',
): Promise<ClosedLoopHttp> {
  const { acceptConnections, acceptSeconds, acceptWarmupSeconds } = ctx.profile;
  const loop = { kind: 'closed', url, concurrency: acceptConnections, auth } as const;
  await ctx.stack.truncate();
  // A short run first: JIT, pool connections and caches warm, so the measured seconds are steady state.
  await ctx.generator.run({ ...loop, seconds: acceptWarmupSeconds });
  await ctx.stack.truncate();
  const cpu = measureCpu(pids);
  const result = await ctx.generator.run({ ...loop, seconds: acceptSeconds });
  const spent = cpu();
  ctx.log(
    `accept ${label}: ${Math.round(result.ok / result.seconds)} ok/s, p50 ${result.latencyMs.p50} ms, ${result.errors} errors`,
  );
  // Only a scenario that does not work at all fails the run; errors under load are reported in the table.
  if (result.ok === 0) {
    ctx.failures.push(`accept (${label}): no request succeeded`);
  }
  return {
    requestsPerSecond: Math.round(result.ok / result.seconds),
    latencyMs: { p50: result.latencyMs.p50, p99: result.latencyMs.p99, max: result.latencyMs.max },
    ok: result.ok,
    errors: result.errors,
    cpu: spent,
    cpuPerRequest: perCard(spent, result.ok),
  };
}

/** pgbench: the Debian package's binary, or PostgreSQL 15's. */
function pgbenchBinary(): string | undefined {
  return (
    ['/usr/bin/pgbench', '/usr/lib/postgresql/15/bin/pgbench'].find((candidate) => existsSync(candidate)) ??
    (process.env['PGBENCH'] && existsSync(process.env['PGBENCH']) ? process.env['PGBENCH'] : undefined)
  );
}

/** The same SQL from pgbench, `poolMax` connections, extended protocol (as pg sends it). */
async function pgbench(ctx: ScenarioContext, script: string): Promise<PgbenchResult | undefined> {
  const binary = pgbenchBinary();
  if (!binary) {
    ctx.log('pgbench not found (apt-get install postgresql-client): its row is left out');
    return undefined;
  }
  mkdirSync(LOG_DIR, { recursive: true });
  const file = path.join(LOG_DIR, 'pgbench-accept.sql');
  writeFileSync(file, script);
  await ctx.stack.truncate();
  const clients = STACK_SETTINGS.poolMax;
  const seconds = ctx.profile.pgbenchSeconds;
  const cpu = measureCpu({});
  let stdout: string;
  try {
    ({ stdout } = await run(
      binary,
      [
        '-n',
        '-M',
        'extended',
        '-c',
        String(clients),
        '-j',
        '2',
        '-T',
        String(seconds),
        '-f',
        file,
        ctx.stack.info.databaseUrl,
      ],
      { maxBuffer: 1 << 24 },
    ));
  } catch (error) {
    // The other rows still stand; the run is broken, though, as a baseline that does not run is.
    const stderr =
      typeof error === 'object' && error !== null && 'stderr' in error ? String(error.stderr) : String(error);
    writeFileSync(path.join(LOG_DIR, 'pgbench-accept.log'), stderr);
    ctx.failures.push(
      `accept (pgbench): ${stderr.split('\n').find((line) => line.includes('ERROR')) ?? 'failed'}; see ${file}`,
    );
    return undefined;
  }
  const spent = cpu();
  writeFileSync(path.join(LOG_DIR, 'pgbench-accept.log'), stdout);
  const tps = /tps = ([\d.]+)/.exec(stdout)?.[1];
  const latency = /latency average = ([\d.]+) ms/.exec(stdout)?.[1];
  const failed = /number of failed transactions: (\d+)/.exec(stdout)?.[1];
  const processed = /number of transactions actually processed: (\d+)/.exec(stdout)?.[1];
  if (!tps) {
    ctx.failures.push(`accept (pgbench): no tps in its output; see ${file} and pgbench-accept.log`);
    return undefined;
  }
  const result: PgbenchResult = {
    clients,
    seconds,
    transactionsPerSecond: Math.round(Number(tps)),
    latencyAverageMs: latency === undefined ? undefined : Number(latency),
    failed: Number(failed ?? 0),
    cpu: perCard(spent, Number(processed ?? 0)),
  };
  ctx.log(`accept pgbench: ${result.transactionsPerSecond} tps, ${result.failed} failed`);
  return result;
}

/** Runs the bare baseline, then pgbench, then ours (card-api alone: nothing else competes for the two cores). */
export async function acceptScenario(ctx: ScenarioContext): Promise<AcceptResult> {
  const { stack, users, profile } = ctx;
  const sql = await resolveAcceptSql(ROOT, stack.pool);
  ctx.log(`accept SQL of the baselines: ${sql.source}`);

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
      'user-id',
    );
  } finally {
    await bare.stop();
  }
  const database = await pgbench(ctx, pgbenchScript(sql, users.length, stack.info.topics.commands));

  await stack.start(['card-api']);
  const api = stack.processes.get('card-api');
  const ours = await measure(ctx, 'card-api', stack.url('card-api'), { 'card-api': api?.pid ?? 0 }, 'token');
  await stack.truncate();
  return {
    connections: profile.acceptConnections,
    seconds: profile.acceptSeconds,
    users: users.length,
    acceptSql: sql.source,
    ours,
    baseline,
    pgbench: database,
  };
}
