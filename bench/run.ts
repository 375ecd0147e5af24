/**
 * The benchmark (`make bench`, `make bench-quick`): every scenario against a baseline measured in the same run, a
 * markdown table on stdout and beside the JSON results, and for a full run docs/benchmarks.md with its chart. Exits
 * 1 when a scenario is broken (no answers, cards that never end); a missed target is only reported. Every request
 * is sent by the load generator, a process of its own (lib/load-generator.ts); every service logs to its own file.
 *
 *   node bench/run.ts [--quick] [--only=accept,saga,sync,outage,degraded,relay,replicated] [--cpu-prof]
 *
 * --cpu-prof starts our five processes with Node's --cpu-prof (profiles land in .run/bench/profiles/, one per pid).
 * BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres) names the PostgreSQL server, where the
 * run creates and drops the databases cards_bench and cards_bench_replicated; BENCH_KAFKA_BROKERS (default
 * 127.0.0.1:9092) the broker. The replicated scenario starts (and removes) a three-broker cluster of its own.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

import { writeDocs } from './docs.ts';
import { renderLatencyChart } from './chart.ts';
import { LoadGenerator } from './lib/generator.ts';
import { describeMachine } from './lib/machine.ts';
import { ROOT } from './lib/processes.ts';
import { machineCpu } from './lib/proc-stats.ts';
import { PROFILES } from './lib/profile.ts';
import { renderReport } from './lib/report.ts';
import type { BenchResults } from './lib/results.ts';
import { formatted, QUICK_RESULTS_DIR, RESULTS_DIR } from './lib/results-files.ts';
import { STACK_SETTINGS, Stack } from './lib/stack.ts';
import { judgeTargets } from './lib/targets.ts';
import { acceptScenario } from './scenarios/accept.ts';
import type { ScenarioContext } from './scenarios/context.ts';
import { degradedScenario } from './scenarios/degraded.ts';
import { outageScenario } from './scenarios/outage.ts';
import { relayScenario } from './scenarios/relay.ts';
import { replicatedScenario } from './scenarios/replicated.ts';
import { sagaScenario } from './scenarios/saga.ts';
import { syncScenario } from './scenarios/sync.ts';

const SCENARIOS = ['accept', 'saga', 'sync', 'outage', 'degraded', 'relay', 'replicated'] as const;

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    'cpu-prof': { type: 'boolean', default: false },
  },
});
const profile = PROFILES[values.quick ? 'quick' : 'full'];
const only = new Set(values.only ? values.only.split(',') : SCENARIOS);
const serverUrl = process.env['BENCH_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const brokers = (process.env['BENCH_KAFKA_BROKERS'] ?? '127.0.0.1:9092').split(',');

const began = Date.now();
/** Progress goes to stderr, so stdout carries the table alone. */
const log = (message: string): void => {
  process.stderr.write(`bench [${((Date.now() - began) / 1000).toFixed(0).padStart(4)} s] ${message}\n`);
};

const startedAt = new Date().toISOString();
log(`${profile.mode} run: ${[...only].join(', ')}`);
const machineBefore = machineCpu();
const stack = await Stack.create({ serverUrl, brokers });
const generator = LoadGenerator.start();
process.once('SIGINT', () => {
  log('interrupted: stopping what the run started');
  void Promise.allSettled([generator.stop(), stack.destroy(serverUrl)]).finally(() => process.exit(130));
});

const results: BenchResults = {
  mode: profile.mode,
  startedAt,
  finishedAt: startedAt,
  machine: await describeMachine(stack.info.databaseUrl),
  settings: {
    ...STACK_SETTINGS,
    ...profile,
    knee: JSON.stringify(profile.knee),
    syncKnee: JSON.stringify(profile.syncKnee),
    warmUp: JSON.stringify(profile.warmUp),
    providerLatenciesMs: profile.providerLatenciesMs.join(','),
  },
  targets: [],
  failures: [],
};
try {
  const users = await stack.createUsers(profile.users);
  await generator.run({ kind: 'users', users });
  const ctx: ScenarioContext = {
    stack,
    users,
    generator,
    profile,
    failures: results.failures,
    log,
  };
  if (values['cpu-prof']) {
    const profiles = path.join(ROOT, '.run', 'bench', 'profiles');
    mkdirSync(profiles, { recursive: true });
    stack.nodeArgs = [...stack.nodeArgs, '--cpu-prof', `--cpu-prof-dir=${profiles}`];
  }
  // Each scenario on its own: one that breaks is recorded, and the others still run.
  const scenario = async <T>(
    name: (typeof SCENARIOS)[number],
    work: () => Promise<T>,
  ): Promise<T | undefined> => {
    if (!only.has(name)) {
      return undefined;
    }
    log(`scenario ${name}`);
    try {
      return await work();
    } catch (error) {
      results.failures.push(`${name}: ${error instanceof Error ? error.message : String(error)}`);
      log(`scenario ${name} broke: ${String(error)}`);
      return undefined;
    }
  };
  results.accept = await scenario('accept', () => acceptScenario(ctx));
  results.saga = await scenario('saga', () => sagaScenario(ctx));
  results.sync = await scenario('sync', () => syncScenario(ctx, results.saga?.searches[0]));
  results.outage = await scenario('outage', () => outageScenario(ctx, results.sync?.ours.knee));
  results.degraded = await scenario('degraded', () => degradedScenario(ctx, results.sync?.ours.knee));
  results.relay = await scenario('relay', () => relayScenario(ctx));
  // Last: it stops the single node's processes and runs the replicated profile's over a cluster of its own.
  results.replicated = await scenario('replicated', () =>
    replicatedScenario(ctx, serverUrl, results.saga?.searches[0]),
  );
} finally {
  await generator.stop();
  await stack.destroy(serverUrl).catch((error: unknown) => {
    log(`clean-up failed: ${String(error)}`);
  });
}
results.finishedAt = new Date().toISOString();
const machineAfter = machineCpu();
if (machineBefore && machineAfter) {
  const busy = machineAfter.busy - machineBefore.busy;
  const idle = machineAfter.idle - machineBefore.idle;
  const steal = machineAfter.steal - machineBefore.steal;
  const total = busy + idle + steal || 1;
  results.machineCpu = {
    busy: Math.round(busy * 10) / 10,
    idle: Math.round(idle * 10) / 10,
    steal: Math.round(steal * 10) / 10,
    busyShare: Math.round((busy / total) * 1000) / 1000,
    stealShare: Math.round((steal / total) * 1000) / 1000,
  };
}
results.targets = judgeTargets(results);

// Only a complete full run is committed and documented; a quick, partial or profiled one stays under .run/.
const published = profile.mode === 'full' && !values.only && !values['cpu-prof'];
const date = startedAt.slice(0, 10);
const directory = published ? RESULTS_DIR : QUICK_RESULTS_DIR;
const base = path.join(directory, published ? date : `${profile.mode}-${date}`);
mkdirSync(directory, { recursive: true });
const report = renderReport(results);
writeFileSync(`${base}.json`, await formatted(JSON.stringify(results, null, 2), `${base}.json`));
writeFileSync(
  `${base}.md`,
  await formatted(`# Benchmark, ${profile.mode} run of ${startedAt}\n\n${report}`, `${base}.md`),
);
if (published) {
  await writeDocs(results, `${base}.json`);
} else {
  // Rendered in quick runs too, so CI notices when the chart stops rendering.
  writeFileSync(`${base}-latency.svg`, await renderLatencyChart(results));
}
process.stdout.write(`${report}\n`);
log(
  `results: ${path.relative(ROOT, base)}.json and .md${published ? '; docs/benchmarks.md and its chart' : ''}`,
);
if (results.failures.length > 0) {
  log(`broken: ${results.failures.join(' | ')}`);
  process.exit(1);
}
