/**
 * A development aid, not a benchmark of record: the whole saga at a few fixed open-loop rates, each point's p50 /
 * p99 and its CPU per terminal card by process, so one change can be judged in a couple of minutes. Results are
 * printed only; `make bench` is what is committed.
 *
 *   node bench/probe.ts [--rates=100,150,200] [--seconds=15] [--provider-ms=0] [--cpu-prof] [--node-args="…"]
 */
import path from 'node:path';
import { mkdirSync } from 'node:fs';
import { parseArgs } from 'node:util';

import { cardsPoint } from './lib/cards-run.ts';
import { LoadGenerator } from './lib/generator.ts';
import { ROOT } from './lib/processes.ts';
import { PROFILES } from './lib/profile.ts';
import { ALL_SERVICES, Stack } from './lib/stack.ts';
import type { ScenarioContext } from './scenarios/context.ts';
import { warmUp } from './scenarios/saga.ts';

const { values } = parseArgs({
  options: {
    rates: { type: 'string', default: '100,150,200' },
    seconds: { type: 'string', default: '15' },
    'provider-ms': { type: 'string', default: '0' },
    'cpu-prof': { type: 'boolean', default: false },
    /** Node flags for our five processes instead of the stack's (e.g. "--max-old-space-size=96"). */
    'node-args': { type: 'string' },
  },
});
const serverUrl = process.env['BENCH_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const brokers = (process.env['BENCH_KAFKA_BROKERS'] ?? '127.0.0.1:9092').split(',');
const log = (message: string): void => {
  process.stderr.write(`probe: ${message}\n`);
};

const profile = { ...PROFILES.full, users: 2000 };
const stack = await Stack.create({ serverUrl, brokers });
const generator = LoadGenerator.start();
try {
  if (values['node-args'] !== undefined) {
    stack.nodeArgs = values['node-args'].split(' ').filter(Boolean);
  }
  if (values['cpu-prof']) {
    const profiles = path.join(ROOT, '.run', 'bench', 'profiles');
    mkdirSync(profiles, { recursive: true });
    stack.nodeArgs = [...stack.nodeArgs, '--cpu-prof', `--cpu-prof-dir=${profiles}`];
  }
  const users = await stack.createUsers(profile.users);
  await generator.run({ kind: 'users', users });
  const ctx: ScenarioContext = { stack, users, generator, profile, failures: [], log };
  await stack.start(ALL_SERVICES);
  await stack.setProviderLatency(Number(values['provider-ms']));
  if (!(await warmUp(ctx, stack.url('card-api')))) {
    throw new Error('the warm-up cards never reached a terminal state');
  }
  const pids = Object.fromEntries([...stack.processes].map(([name, running]) => [name, running.pid]));
  for (const rate of values.rates.split(',').map(Number)) {
    const point = await cardsPoint(ctx, {
      design: 'ours',
      purpose: 'search',
      apiUrl: stack.url('card-api'),
      rate,
      providerLatencyMs: Number(values['provider-ms']),
      pids,
      seconds: Number(values.seconds),
    });
    const ms = (seconds: number | undefined): string => ((seconds ?? 0) * 1000).toFixed(2);
    const { cpuPerCard } = point;
    const byProcess = Object.entries(cpuPerCard.processes)
      .map(([name, seconds]) => `${name} ${ms(seconds)}`)
      .join(', ');
    process.stdout.write(
      `${rate}/s: ${point.terminal}/${point.sent} terminal, p50 ${point.endToEndClientMs.p50} ms, ` +
        `p99 ${point.endToEndClientMs.p99} ms, accept p99 ${point.acceptMs.p99} ms; ms CPU/card: ours ${ms(cpuPerCard.ours)} ` +
        `(${byProcess}), postgres ${ms(cpuPerCard.postgres)}, kafka ${ms(cpuPerCard.kafka)}, ` +
        `generator ${ms(cpuPerCard.loadGenerator)}; peak RSS MB: ${JSON.stringify(point.peakRssMB)}\n`,
    );
  }
} finally {
  await generator.stop();
  await stack.destroy(serverUrl);
}
