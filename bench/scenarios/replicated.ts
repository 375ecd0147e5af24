/**
 * Scenario 9: the saga on the replicated profile (make up-cluster) beside the single-node run: three brokers with
 * three replicas of every topic and min.insync.replicas 2, two card-apis (cards sent to each in turn), two relays
 * (one active), two card-events consumers, three provider-workers. The knee search of scenario 2 at provider 0 ms,
 * starting from its knee. On two cores this is no speed-up: every acknowledged write now waits for a second broker,
 * and nine Node processes and three JVMs share the cores the single node had. It shows that it works, and its cost.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

import { settle } from '../lib/cards-run.ts';
import { ROOT } from '../lib/processes.ts';
import { setKafkaPids } from '../lib/resources.ts';
import type { KneeSearch, ReplicatedResult } from '../lib/results.ts';
import { ALL_SERVICES, Stack, type ServiceName } from '../lib/stack.ts';
import type { ScenarioContext } from './context.ts';
import { nextSearch, oursKnee, warmUp } from './saga.ts';

const run = promisify(execFile);

/**
 * The replicated profile's processes per service, read from scripts/procs.sh, which runs them for make up-cluster
 * (`card-api`, `card-api-2`, … count as two card-apis), so the benchmark measures the profile that script runs.
 */
async function replicatedProcesses(): Promise<Record<ServiceName, number>> {
  const { stdout } = await run(path.join(ROOT, 'scripts/procs.sh'), ['names'], {
    cwd: ROOT,
    env: { ...process.env, PROCS_PROFILE: 'cluster' },
  });
  const counts = Object.fromEntries(ALL_SERVICES.map((service): [ServiceName, number] => [service, 0]));
  for (const name of stdout.trim().split(/\s+/)) {
    const service = name.replace(/-\d+$/, '');
    if (!(service in counts)) {
      throw new Error(`scripts/procs.sh names a process of no known service: ${name}`);
    }
    counts[service] = (counts[service] ?? 0) + 1;
  }
  return counts as Record<ServiceName, number>;
}

/** Every topic's replicas and the fewest in sync for an acknowledged write, as make up-cluster sets them. */
const REPLICATION = { factor: 3, minInsync: 2 };

/** The benchmark's own cluster: ports 9512, 9522, 9532 (beside make up-cluster's 91n2 and the tests'). */
const CLUSTER_ENV = {
  ...process.env,
  KAFKA_CLUSTER_PORT_PREFIX: '95',
  KAFKA_CLUSTER_DIR: path.join(ROOT, '.run', 'bench', 'kafka-cluster'),
};

async function cluster(command: string): Promise<string> {
  const { stdout } = await run(path.join(ROOT, 'scripts/kafka-cluster.sh'), [command], {
    cwd: ROOT,
    env: CLUSTER_ENV,
    timeout: 180_000,
  });
  return stdout.trim();
}

function brokerPids(): number[] {
  return [1, 2, 3].map((node) =>
    Number(readFileSync(path.join(CLUSTER_ENV.KAFKA_CLUSTER_DIR, `node-${node}`, 'kafka.pid'), 'utf8')),
  );
}

export async function replicatedScenario(
  ctx: ScenarioContext,
  serverUrl: string,
  singleNode: KneeSearch | undefined,
): Promise<ReplicatedResult> {
  // The single node's processes would only take CPU from the replicated ones; the single broker stays (idle).
  await ctx.stack.stop();
  // A cluster a broken run left behind holds other topics and data: start from nothing.
  await cluster('clean');
  await cluster('start');
  try {
    const brokers = (await cluster('brokers')).split(',');
    setKafkaPids(brokerPids());
    const stack = await Stack.create({
      serverUrl,
      brokers,
      databaseName: 'cards_bench_replicated',
      replication: REPLICATION,
    });
    try {
      stack.nodeArgs = ctx.stack.nodeArgs;
      await stack.start(ALL_SERVICES);
      const processes = await replicatedProcesses();
      await stack.startReplicas(processes);
      const users = await stack.createUsers(ctx.profile.users);
      await ctx.generator.run({ kind: 'users', users });
      // Three JVMs started a minute ago are still compiling their hot paths: a warm-up three times as long.
      const { warmUp: warmUpLoad } = ctx.profile;
      const replicated: ScenarioContext = {
        ...ctx,
        stack,
        users,
        profile: { ...ctx.profile, warmUp: { ...warmUpLoad, seconds: warmUpLoad.seconds * 3 } },
      };
      await stack.setProviderFaults({ outage: false, latencyMs: 0 });
      if (!(await warmUp(replicated, stack.urls('card-api')))) {
        throw new Error('the warm-up cards never reached a terminal state on the replicated profile');
      }
      await settle(replicated);
      const search = await oursKnee(replicated, 0, nextSearch(ctx.profile.knee, singleNode));
      if (!search.points.some((point) => point.terminal > 0)) {
        ctx.failures.push('replicated: no card terminal at any rate');
      }
      return {
        brokers: brokers.length,
        replicationFactor: REPLICATION.factor,
        minInsyncReplicas: REPLICATION.minInsync,
        processes,
        search,
        singleNodeKnee: singleNode?.knee,
      };
    } finally {
      await ctx.generator.run({ kind: 'users', users: ctx.users });
      await stack.destroy(serverUrl);
    }
  } finally {
    setKafkaPids(undefined);
    await cluster('clean');
  }
}
