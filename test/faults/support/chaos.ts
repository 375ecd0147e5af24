import { setTimeout as sleep } from 'node:timers/promises';

import { Client } from 'pg';

import { between } from './random';
import { RESTARTABLE, type FaultCluster } from './cluster';

/** One scheduled fault: when it starts (ms after the load starts), what it is, and how to do and undo it. */
export interface FaultEvent {
  at: number;
  name: string;
  run: () => Promise<void>;
}

/** Messages the suite poisons on purpose; every one must end on a dead-letter topic, and nothing else may. */
export interface PoisonLedger {
  keys: string[];
}

async function setProviderFaults(cluster: FaultCluster, faults: Record<string, unknown>): Promise<void> {
  await fetch(`${cluster.providerUrl}/control/faults`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(faults),
  }).catch(() => undefined);
}

async function resetProviderFaults(cluster: FaultCluster): Promise<void> {
  await fetch(`${cluster.providerUrl}/control/faults/reset`, { method: 'POST' }).catch(() => undefined);
}

/** Ends every database session of the services (through the proxy they all use). */
async function terminateServiceConnections(cluster: FaultCluster): Promise<void> {
  const client = new Client({ connectionString: cluster.cardDatabase.url });
  await client.connect();
  try {
    await client.query(
      /* sql */ 'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
      [cluster.cardDatabase.name],
    );
  } finally {
    await client.end();
  }
}

/**
 * Builds the random schedule: three lanes that run side by side (processes and the broker; network and database;
 * the provider and poison), each a sequence of faults at random moments. The same seed gives the same schedule.
 */
export function buildSchedule(options: {
  cluster: FaultCluster;
  random: () => number;
  durationMs: number;
  killsPerProcess: number;
  brokerRestarts: number;
  poison: PoisonLedger;
}): FaultEvent[][] {
  const { cluster, random, durationMs } = options;
  const at = (): number => between(random, 2000, Math.max(2500, durationMs - 8000));
  const processLane: FaultEvent[] = [];
  for (const name of RESTARTABLE) {
    for (let i = 0; i < options.killsPerProcess; i++) {
      const downMs = between(random, 200, 2000);
      processLane.push({
        at: at(),
        name: `SIGKILL ${name}, restart after ${downMs} ms`,
        run: async () => {
          await cluster.kill(name);
          await sleep(downMs);
          await cluster.startProcess(name);
        },
      });
    }
  }
  for (let i = 0; i < options.brokerRestarts; i++) {
    const downMs = between(random, 1000, 4000);
    processLane.push({
      at: at(),
      name: `stop Kafka broker, start after ${downMs} ms`,
      run: async () => {
        await cluster.stopBroker();
        await sleep(downMs);
        await cluster.startBroker();
      },
    });
  }

  const networkLane: FaultEvent[] = [
    ...['kafka', 'database'].flatMap((target) => {
      const proxy = target === 'kafka' ? cluster.kafkaProxy : cluster.databaseProxy;
      const latency = between(random, 50, 300);
      const slowMs = between(random, 1000, 4000);
      const cutMs = between(random, 500, 3000);
      return [
        {
          at: at(),
          name: `${target} link +${latency} ms for ${slowMs} ms`,
          run: async () => {
            proxy.setLatency(latency);
            await sleep(slowMs);
            proxy.restore();
          },
        },
        {
          at: at(),
          name: `${target} link cut for ${cutMs} ms`,
          run: async () => {
            proxy.cut();
            await sleep(cutMs);
            proxy.restore();
          },
        },
      ];
    }),
    ...[1, 2].map((round) => ({
      at: at(),
      name: `pg_terminate_backend every service connection (#${round})`,
      run: () => terminateServiceConnections(cluster),
    })),
  ];

  const providerFaults: [string, Record<string, unknown>][] = [
    ['provider 5xx half the time', { errorRate: 0.5 }],
    ['provider hangs a third of requests', { hangRate: 0.3 }],
    ['provider answers malformed bodies', { malformedRate: 0.2 }],
    ['provider creates cards, then answers malformed bodies', { createdThenMalformedRate: 0.3 }],
    ['provider creates cards, then never answers', { createdThenHangRate: 0.3 }],
    ['provider cancels cards, then answers malformed bodies', { cancelledThenMalformedRate: 0.5 }],
    ['provider cuts card lists midway', { listCutRate: 0.5 }],
    ['provider fully down', { outage: true }],
  ];
  const providerLane: FaultEvent[] = providerFaults.map(([name, faults]) => {
    const forMs = between(random, 1500, 5000);
    return {
      at: at(),
      name: `${name} for ${forMs} ms`,
      run: async () => {
        await setProviderFaults(cluster, faults);
        await sleep(forMs);
        await resetProviderFaults(cluster);
      },
    };
  });
  for (const topic of ['cards.provisioning.commands.v1', 'cards.provisioning.results.v1']) {
    providerLane.push({
      at: at(),
      name: `poison message on ${topic}`,
      run: async () => {
        const key = `poison-${options.poison.keys.length}-${topic}`;
        const producer = cluster.kafka.producer();
        await producer.connect();
        try {
          await producer.send({ topic, messages: [{ key, value: '{"not": "an event"', headers: {} }] });
          options.poison.keys.push(key);
        } finally {
          await producer.disconnect();
        }
      },
    });
  }
  return [processLane, networkLane, providerLane].map((lane) => lane.sort((a, b) => a.at - b.at));
}

/** When a long outage was in force (ms since the epoch), for the invariants about the cards requested around it. */
export interface OutageWindow {
  kind: 'database' | 'broker' | 'provider';
  from: number;
  to: number;
}

/** One long outage of the outage phase, and the quiet time after it (the backlog it left drains meanwhile). */
export interface LongOutage {
  kind: OutageWindow['kind'];
  forMs: number;
  quietAfterMs: number;
}

/**
 * The outage phase: long outages one after another, each followed by quiet, from `startAt`, with no other fault
 * in force, so whatever happens to the cards requested around one is that outage's doing. The database is cut at
 * its proxy (every service loses it), the broker process is stopped, the provider answers nothing but 503. Each
 * outage's real window is appended to `windows` as it ends.
 */
export function buildOutageLane(options: {
  cluster: FaultCluster;
  startAt: number;
  outages: readonly LongOutage[];
  windows: OutageWindow[];
}): FaultEvent[] {
  const { cluster } = options;
  const lane: FaultEvent[] = [];
  let at = options.startAt;
  for (const outage of options.outages) {
    const seconds = Math.round(outage.forMs / 1000);
    lane.push({
      at,
      name: `${outage.kind} outage for ${seconds} s`,
      run: async () => {
        let from: number;
        switch (outage.kind) {
          case 'database':
            cluster.databaseProxy.cut();
            from = Date.now();
            await sleep(outage.forMs);
            cluster.databaseProxy.restore();
            break;
          case 'broker':
            await cluster.stopBroker();
            from = Date.now();
            await sleep(outage.forMs);
            await cluster.startBroker();
            break;
          case 'provider':
            await setProviderFaults(cluster, { outage: true });
            from = Date.now();
            await sleep(outage.forMs);
            await resetProviderFaults(cluster);
            break;
        }
        options.windows.push({ kind: outage.kind, from, to: Date.now() });
      },
    });
    at += outage.forMs + outage.quietAfterMs;
  }
  return lane;
}

/** Runs the lanes side by side; each fault starts at its time (or when the one before it in its lane ends). */
export async function runSchedule(lanes: FaultEvent[][], log: (line: string) => void): Promise<void> {
  const startedAt = Date.now();
  await Promise.all(
    lanes.map(async (lane) => {
      for (const event of lane) {
        await sleep(Math.max(0, startedAt + event.at - Date.now()));
        log(`${((Date.now() - startedAt) / 1000).toFixed(1)}s  ${event.name}`);
        try {
          await event.run();
        } catch (error) {
          log(`    (fault ${event.name} failed to apply: ${String(error)})`);
        }
      }
    }),
  );
}
