import { setTimeout as sleep } from 'node:timers/promises';

import { Topics } from '@cards/contracts';

import type { OutageWindow } from '../faults/support/chaos';
import { checkInvariants, formatTable, outcomeCounts, quiescent } from '../faults/support/invariants';
import { createLoadUsers, driveLoad } from '../faults/support/load';
import { seededRandom } from '../faults/support/random';
import { busiestLeader } from './support/kafka-cluster';
import { groupSettled, REPLICAS, ReplicatedSystem } from './support/replicated-system';

/**
 * The replicated profile under the faults of a cluster (issue 16): the broker leading most partitions killed with
 * SIGKILL under load, then a second broker (below min.insync.replicas), both restarted; the active relay killed
 * (its standby takes over: the suite reports how long it took); consumers of both groups killed in the middle of
 * their batches and started again (the suite reports the longest rebalance); a card-api killed while clients
 * spread over both. Then every invariant of docs/guarantees.md, against the provider's own store.
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

describe('the replicated profile under the faults of a cluster', () => {
  const system = new ReplicatedSystem({
    label: `cluster-${seed}`,
    portPrefix: '94',
    settings: {
      SAGA_DEADLINE_SECONDS: String(SAGA_DEADLINE_SECONDS),
      SAGA_REAPER_INTERVAL_MS: '1000',
      CARD_LIMIT_PER_USER: '1000',
      OUTBOX_POLL_INTERVAL_MS: '500',
      PROVIDER_TIMEOUT_MS: '1500',
      PROVIDER_RETRY_BASE_MS: '100',
      RECONCILIATION_INTERVAL_MS: '10000',
      RECONCILIATION_WINDOW_HOURS: '2',
      OUTBOX_RETENTION_HOURS: '1',
      RECONCILIATION_RECANCEL_AFTER_MINUTES: '1',
    },
  });
  const tokens: string[] = [];

  beforeAll(async () => {
    log(`profile ${profileName}, seed ${seed} (replay: FAULT_SEED=${seed} CLUSTER_PROFILE=${profileName})`);
    await system.start();
    tokens.push(...(await createLoadUsers(system.apiUrls[0] ?? '', profile.users, 'cluster')));
  }, 300_000);

  afterAll(() => system.stop(), 180_000);

  it(
    'when brokers, the active relay, consumers and a card-api are killed under load, then every invariant holds, with the take-over and rebalances bounded',
    async () => {
      const outages: OutageWindow[] = [];
      const findings: { relayTakeOverMs?: number; relayTakeOverBy?: string; rebalancesMs: number[] } = {
        rebalancesMs: [],
      };
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
      const settleStartedAt = Date.now();
      let reason: string | undefined = 'not checked';
      while (reason !== undefined && Date.now() - settleStartedAt < QUIESCENCE_TIMEOUT_MS) {
        reason = await quiescent({
          cardDatabaseUrl: system.cardDatabase.url,
          providerDatabaseUrl: system.providerDatabase.url,
          kafka: system.kafka,
        }).catch((error: unknown) => String(error));
        if (reason !== undefined) {
          await sleep(1000);
        }
      }
      log(
        `quiescent after ${((Date.now() - settleStartedAt) / 1000).toFixed(1)} s${reason ? ` (not quite: ${reason})` : ''}`,
      );
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

      expect(outcome.accepted.size).toBeGreaterThanOrEqual(
        profile.ratePerSecond * (profile.loadMs / 1000) * 0.95,
      );
      expect(outcome.gaveUp).toBe(0);
      expect(outages).toHaveLength(1);
      expect(findings.relayTakeOverMs).toBeLessThan(BOUND_MS);
      expect(findings.relayTakeOverBy).toBeDefined();
      expect(longestRebalanceMs).toBeLessThan(BOUND_MS);
      expect(results.filter((result) => result.violations > 0)).toEqual([]);
    },
    profile.loadMs + QUIESCENCE_TIMEOUT_MS + 6 * BOUND_MS + 300_000,
  );
});
