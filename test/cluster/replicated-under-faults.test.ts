import { setTimeout as sleep } from 'node:timers/promises';

import { Topics } from '@cards/contracts';

import type { OutageWindow } from '../faults/support/chaos';
import { FAULT_RUN_SETTINGS } from '../faults/support/cluster';
import { checkInvariants, formatTable, outcomeCounts, waitForQuiescence } from '../faults/support/invariants';
import { createLoadUsers, driveLoad } from '../faults/support/load';
import { seededRandom } from '../faults/support/random';
import { busiestLeader, partitionLeaders } from './support/kafka-cluster';
import { groupSettled, REPLICAS, ReplicatedSystem } from './support/replicated-system';
import { TestNetwork } from './support/test-hosts';

/**
 * The replicated profile under the faults of a cluster (issue 16): the broker leading most partitions killed with
 * SIGKILL under load, then a second broker (below min.insync.replicas), both restarted; the active relay killed
 * (its standby takes over: the suite reports how long it took); consumers of both groups killed in the middle of
 * their batches and started again (the suite reports the longest rebalance); a card-api killed while clients
 * spread over both. Then every invariant of docs/guarantees.md, against the provider's own store.
 *
 * Kill is not the only fault a cluster sees. Where test hosts can be made (Linux, root: scripts/test-hosts.sh), the
 * brokers and the relays run on hosts of their own and PostgreSQL on the machine's address of that network, and the
 * run also partitions them: the host of the broker leading most partitions is cut off from the other brokers, every
 * client and the database, then healed; so is the active relay's host (the suite reports how long its standby took
 * to take over, which the database's keepalive on the lock session bounds). Elsewhere the run says it skipped them;
 * under CI it fails instead.
 *
 * `make test-cluster` runs the full profile (over 10,000 cards); `make test` a bounded one. FAULT_SEED replays the
 * choice of users and colours; the faults come one after the other in a fixed order, a gap of load alone between
 * them, and the load lasts until they are over (at least `loadMs`).
 */
const profiles = {
  // gapMs: load alone before the first fault and between faults (the backlog a fault left drains meanwhile).
  bounded: { loadMs: 90_000, gapMs: 6000, ratePerSecond: 8, users: 10 },
  full: { loadMs: 420_000, gapMs: 40_000, ratePerSecond: 25, users: 50 },
} as const;
const profileName = process.env['CLUSTER_PROFILE'] === 'full' ? 'full' : 'bounded';
const profile = profiles[profileName];
const seed = Number(process.env['FAULT_SEED'] ?? Math.floor(Math.random() * 2 ** 31));
const SAGA_DEADLINE_SECONDS = profileName === 'full' ? 300 : 120;
const QUIESCENCE_TIMEOUT_MS = 240_000;
/** How long the suite waits for a take-over or a rebalance before calling it failed. */
const BOUND_MS = 60_000;

function log(line: string): void {
  process.stdout.write(`[cluster] ${line}\n`);
}

/** Polls `done` every 100 ms; the milliseconds it took, or undefined past BOUND_MS. */
async function timeUntil(done: () => Promise<boolean>): Promise<number | undefined> {
  const startedAt = Date.now();
  while (Date.now() - startedAt < BOUND_MS) {
    if (await done().catch(() => false)) {
      return Date.now() - startedAt;
    }
    await sleep(100);
  }
  return undefined;
}

/** The suite's ports start with 94 (scripts/kafka-cluster.sh) and its test network is 10.94.0.0/24. */
const NET = 94;

describe('the replicated profile under the faults of a cluster', () => {
  let network: TestNetwork | undefined;
  let system: ReplicatedSystem;
  const tokens: string[] = [];

  beforeAll(async () => {
    log(`profile ${profileName}, seed ${seed} (replay: FAULT_SEED=${seed} CLUSTER_PROFILE=${profileName})`);
    const unavailable = await TestNetwork.unavailable();
    if (unavailable === undefined) {
      network = await TestNetwork.create(NET);
    } else if (process.env['CI']) {
      throw new Error(`test hosts are needed for the partitions, and cannot be made here: ${unavailable}`);
    } else {
      log(`no test hosts here (${unavailable}): the run skips the network partitions`);
    }
    system = new ReplicatedSystem({
      label: `cluster-${seed}`,
      portPrefix: String(NET),
      settings: { ...FAULT_RUN_SETTINGS, SAGA_DEADLINE_SECONDS: String(SAGA_DEADLINE_SECONDS) },
      ...(network && { network }),
    });
    await system.start();
    tokens.push(...(await createLoadUsers(system.apiUrls[0] ?? '', profile.users, 'cluster')));
  }, 300_000);

  afterAll(async () => {
    await system.stop();
    if (!process.env['CLUSTER_KEEP']) {
      await network?.destroy();
    }
  }, 180_000);

  it(
    'when brokers, the active relay, consumers and a card-api are killed under load, then every invariant holds, with the take-over and rebalances bounded',
    async () => {
      const outages: OutageWindow[] = [];
      const findings: {
        relayTakeOverMs?: number;
        relayTakeOverBy?: string;
        rebalancesMs: number[];
        partition?: { leadersMovedMs?: number; relayTakeOverMs?: number; healedRelayStandsBy?: boolean };
      } = { rebalancesMs: [] };
      // From the kill (or restart) until the group is Stable without (or with) that member and every partition owned.
      const rebalance = async (label: string, change: 'absent' | 'present'): Promise<void> => {
        const [workers, consumers] = await Promise.all([
          timeUntil(() =>
            groupSettled(system.kafka, 'provider-worker', Topics.provisioningCommands, {
              [change]: [REPLICAS.workers[0]],
            }),
          ),
          timeUntil(() =>
            groupSettled(system.kafka, 'card-api.card-events', Topics.provisioningResults, {
              [change]: [`${REPLICAS.consumers[0]}-card-events`],
            }),
          ),
        ]);
        log(
          `${label}: provider-worker group settled after ${workers ?? 'never'} ms, card-events after ${consumers ?? 'never'} ms`,
        );
        findings.rebalancesMs.push(
          workers ?? Number.POSITIVE_INFINITY,
          consumers ?? Number.POSITIVE_INFINITY,
        );
      };

      const gap = () => sleep(profile.gapMs);

      /** Cuts off the host of the busiest leader, then the active relay's; heals each after a gap. */
      const partitions = async (net: TestNetwork) => {
        const partition: NonNullable<typeof findings.partition> = {};
        await gap();
        const leader = await busiestLeader(system.kafka, Topics.provisioningCommands);
        const outage: OutageWindow = { kind: 'broker', from: Date.now(), to: 0 };
        log(
          `partition: cut kafka-${leader.node}'s host (leads ${leader.partitions} of 6 command partitions) off from the other brokers, every client and PostgreSQL`,
        );
        await net.cut(`kafka-${leader.node}`);
        partition.leadersMovedMs = await timeUntil(async () =>
          (await partitionLeaders(system.kafka, Topics.provisioningCommands)).every(
            (node) => node !== leader.node,
          ),
        );
        log(`the other brokers lead every partition ${partition.leadersMovedMs ?? 'never'} ms after the cut`);
        await gap();
        await net.heal(`kafka-${leader.node}`);
        outage.to = Date.now();
        outages.push(outage);
        log(`kafka-${leader.node}'s host healed after ${((outage.to - outage.from) / 1000).toFixed(1)} s`);

        await gap();
        const active = await system.activeRelay();
        const host = active && system.hostOf(active);
        if (!active || !host) {
          throw new Error(`no active relay on a test host to cut off (active: ${active ?? 'none'})`);
        }
        log(`partition: cut ${active}'s host ${host} off from PostgreSQL, the brokers and the other relay`);
        await net.cut(host);
        partition.relayTakeOverMs = await timeUntil(async () => {
          const now = await system.activeRelay();
          return now !== undefined && now !== active;
        });
        const successor = await system.activeRelay();
        log(
          `relay take-over by ${successor ?? 'nobody'} ${partition.relayTakeOverMs ?? 'never'} ms after the cut`,
        );
        await gap();
        await net.heal(host);
        // Healed, the old relay finds its session gone: it must stand by, not take the lock back or crash.
        await sleep(profile.gapMs);
        partition.healedRelayStandsBy =
          successor !== active &&
          system.processes.get(active)?.child.exitCode === null &&
          (await system.activeRelay()) === successor;
        log(`${active} after the heal: ${partition.healedRelayStandsBy ? 'standing by' : 'NOT standing by'}`);
        return partition;
      };
      const faults = (async () => {
        await gap();
        const leader = await busiestLeader(system.kafka, Topics.provisioningCommands);
        const outage: OutageWindow = { kind: 'broker', from: Date.now(), to: 0 };
        log(`kill -9 broker ${leader.node} (leads ${leader.partitions} of 6 command partitions)`);
        await system.kafkaCluster.kill(leader.node);
        await gap();
        const second = [1, 2, 3].find((node) => node !== leader.node) ?? 0;
        log(`kill -9 broker ${second}: one broker left, below min.insync.replicas`);
        await system.kafkaCluster.kill(second);
        await gap();
        await Promise.all([system.kafkaCluster.restart(leader.node), system.kafkaCluster.restart(second)]);
        outage.to = Date.now();
        outages.push(outage);
        log(
          `brokers ${leader.node} and ${second} back after ${((outage.to - outage.from) / 1000).toFixed(1)} s`,
        );

        await gap();
        const active = await system.activeRelay();
        log(`kill -9 the active relay, ${active ?? 'none found'}`);
        if (active) {
          await system.kill(active);
          const killedAt = Date.now();
          const takeOver = await timeUntil(async () => {
            const now = await system.activeRelay();
            return now !== undefined && now !== active;
          });
          findings.relayTakeOverMs = takeOver;
          findings.relayTakeOverBy = await system.activeRelay();
          log(
            `relay take-over by ${findings.relayTakeOverBy ?? 'nobody'} after ${takeOver ?? 'never'} ms (killed at ${killedAt})`,
          );
          await system.startProcess(active);
        }

        if (network) {
          findings.partition = await partitions(network);
        }

        await gap();
        log('kill -9 card-events-consumer-1 and provider-worker-1 in the middle of their batches');
        await Promise.all([system.kill(REPLICAS.consumers[0]), system.kill(REPLICAS.workers[0])]);
        await rebalance('after the kill', 'absent');
        await gap();
        await Promise.all([
          system.startProcess(REPLICAS.consumers[0]),
          system.startProcess(REPLICAS.workers[0]),
        ]);
        await rebalance('after the restart', 'present');

        await gap();
        log('kill -9 card-api-1: clients go on through card-api-2');
        await system.kill(REPLICAS.api[0]);
        await gap();
        await system.startProcess(REPLICAS.api[0]);
        await gap();
      })();

      const [outcome] = await Promise.all([
        driveLoad({
          apiUrl: system.apiUrls,
          tokens,
          durationMs: profile.loadMs,
          until: faults,
          ratePerSecond: profile.ratePerSecond,
          random: seededRandom(seed),
        }),
        faults,
      ]);
      log(
        `load done: ${outcome.requests} requests, ${outcome.accepted.size} accepted, ${outcome.retries} retries, ${outcome.gaveUp} given up`,
      );

      await system.ensureAllRunning();
      const { seconds, reason } = await waitForQuiescence(
        {
          cardDatabaseUrl: system.cardDatabase.url,
          providerDatabaseUrl: system.providerDatabase.url,
          kafka: system.kafka,
        },
        QUIESCENCE_TIMEOUT_MS,
      );
      log(`quiescent after ${seconds.toFixed(1)} s${reason ? ` (not quite: ${reason})` : ''}`);
      log(`outcomes: ${JSON.stringify(await outcomeCounts(system.cardDatabase.url))}`);
      const results = await checkInvariants({
        cardDatabaseUrl: system.cardDatabase.url,
        providerDatabaseUrl: system.providerDatabase.url,
        kafka: system.kafka,
        accepted: outcome.accepted,
        poisonKeys: [],
        outages,
        sagaDeadlineSeconds: SAGA_DEADLINE_SECONDS,
      });
      const longestRebalanceMs = Math.max(...findings.rebalancesMs);
      log(`invariants (seed ${seed}):\n${formatTable(results)}`);
      log(
        `relay take-over: ${findings.relayTakeOverMs ?? 'never'} ms (by ${findings.relayTakeOverBy ?? 'nobody'}); ` +
          `longest rebalance: ${longestRebalanceMs} ms; ${outcome.accepted.size} cards accepted`,
      );
      if (findings.partition) {
        log(
          `partitions: leadership off the cut broker in ${findings.partition.leadersMovedMs ?? 'never'} ms; ` +
            `relay take-over from a cut host in ${findings.partition.relayTakeOverMs ?? 'never'} ms`,
        );
      }

      expect(outcome.accepted.size).toBeGreaterThanOrEqual(
        profile.ratePerSecond * (profile.loadMs / 1000) * 0.95,
      );
      expect(outcome.gaveUp).toBe(0);
      expect(outages).toHaveLength(network ? 2 : 1);
      // Without test hosts there are no partitions to judge (the run said so at the start; CI fails instead).
      const { partition } = findings;
      const partitionFailures = network
        ? [
            partition?.leadersMovedMs === undefined && 'leadership never left the cut broker',
            partition?.relayTakeOverMs === undefined && 'no relay took over from the cut one',
            partition?.healedRelayStandsBy !== true && 'the healed relay does not stand by',
          ].filter((failure) => failure !== false)
        : [];
      expect(partitionFailures).toEqual([]);
      expect(findings.relayTakeOverMs).toBeLessThan(BOUND_MS);
      expect(findings.relayTakeOverBy).toBeDefined();
      expect(longestRebalanceMs).toBeLessThan(BOUND_MS);
      expect(results.filter((result) => result.violations > 0)).toEqual([]);
    },
    profile.loadMs + QUIESCENCE_TIMEOUT_MS + 8 * BOUND_MS + 300_000,
  );
});
