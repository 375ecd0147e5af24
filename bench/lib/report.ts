import type { CpuSpent } from './resources.ts';
import type { BenchResults, CardsPoint, KneeSearch, TargetOutcome } from './results.ts';
import { ratio, type Percentiles } from './stats.ts';
import { describeKnee, kneePoint, systemCpuMsPerCard } from './targets.ts';

/** A markdown table (prettier aligns it when the file is written). */
function table(headers: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]): string => `| ${cells.map(String).join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n');
}

/** Milliseconds of CPU, from seconds; "n/a" when it could not be read. */
const cpuMs = (seconds: number | undefined): string =>
  seconds === undefined ? 'n/a' : (seconds * 1000).toFixed(2);

const marker = (met: boolean | undefined, reportOnly = false): string =>
  reportOnly ? 'reported' : met === undefined ? 'not measured' : met ? '✅ met' : '❌ missed';

function cpuCells(perCard: CpuSpent): string[] {
  return [cpuMs(perCard.ours), cpuMs(perCard.postgres), cpuMs(perCard.kafka), cpuMs(perCard.loadGenerator)];
}

/** The targets table alone (docs/benchmarks.md puts it first). */
export function targetsTable(targets: readonly TargetOutcome[]): string {
  return table(
    ['Target', 'Measured (ours / baseline)', 'Target', 'Result'],
    targets.map((target) => [
      target.description,
      target.measured,
      target.target,
      marker(target.met, target.reportOnly),
    ]),
  );
}

const pct = (value: Percentiles | undefined): string => (value ? `${value.p50} / ${value.p99}` : 'n/a');

/** The whole machine over a point, from /proc/stat: busy and steal seconds (all cores). */
function machineCell(cpu: CpuSpent): string {
  return cpu.machine ? `${cpu.machine.busy.toFixed(1)} / ${cpu.machine.steal.toFixed(1)}` : 'n/a';
}

/** Every point of knee searches (and overload runs), in the order run. */
function pointsTable(points: readonly CardsPoint[], knees: ReadonlySet<CardsPoint>): string {
  return table(
    [
      'design',
      'provider ms',
      'offered /s',
      'purpose',
      'achieved /s',
      'cards',
      'client p50 / p95 / p99 ms',
      'accept p50 / p99 ms',
      'failed requests',
      'not terminal',
      'CPU ms/card: ours',
      'PostgreSQL',
      'Kafka',
      'load generator',
      'machine busy / steal s',
      'send lag p99 ms',
      'verdict',
    ],
    points.map((point) => [
      point.design === 'ours' ? 'ours' : 'synchronous',
      point.providerLatencyMs,
      point.rate,
      point.purpose,
      point.achievedPerSecond,
      point.sent,
      `${point.endToEndClientMs.p50} / ${point.endToEndClientMs.p95} / ${point.endToEndClientMs.p99}`,
      pct(point.acceptMs),
      point.errors,
      point.notTerminal,
      ...cpuCells(point.cpuPerCard),
      machineCell(point.cpu),
      point.sendLagMs.p99,
      knees.has(point) ? '**knee**' : point.good ? 'good' : 'not good',
    ]),
  );
}

function searchLine(search: KneeSearch): string {
  return `- ${search.design === 'ours' ? 'ours' : 'synchronous design'}, provider ${search.providerLatencyMs} ms: ${describeKnee(search)}; resolution ${search.resolution} cards/s, ${search.points.length} points`;
}

/** Every scenario's figures as markdown: what `make bench` prints and writes beside the JSON. */
export function renderReport(results: BenchResults): string {
  const parts: string[] = [`## Targets`, '', targetsTable(results.targets), ''];
  const { accept, saga, relay, sync, outage, degraded, machineCpu } = results;

  if (machineCpu) {
    parts.push(
      `The whole machine over the run (/proc/stat, all cores): ${machineCpu.busy.toFixed(0)} s busy, ${machineCpu.idle.toFixed(0)} s idle, ${machineCpu.steal.toFixed(1)} s stolen (${(machineCpu.busyShare * 100).toFixed(0)} % busy, ${(machineCpu.stealShare * 100).toFixed(1)} % steal). Every point below records its own busy and steal seconds; steal, or busy well above the processes' own CPU, means a neighbour was at work.`,
      '',
    );
  }

  if (accept) {
    const row = (label: string, http: typeof accept.ours): (string | number)[] => [
      label,
      http.requestsPerSecond,
      http.latencyMs.p50,
      http.latencyMs.p99,
      http.errors,
      ...cpuCells(http.cpuPerRequest),
    ];
    parts.push(
      `## 1. Accept throughput`,
      '',
      `POST /v1/cards, ${accept.connections} connections in a closed loop from the load generator's process, ${accept.seconds} s, ${accept.users} users in rotation. The baselines' SQL: ${accept.acceptSql}. CPU per request (ms): the server process, PostgreSQL, Kafka (idle here) and the load generator.`,
      '',
      table(
        [
          'Server',
          'req/s',
          'p50 ms',
          'p99 ms',
          'errors',
          'CPU ms/req: server',
          'PostgreSQL',
          'Kafka',
          'load generator',
        ],
        [
          row('card-api (ours)', accept.ours),
          row('bare node:http + pg', accept.baseline),
          ...(accept.pgbench
            ? [
                [
                  `pgbench, ${accept.pgbench.clients} connections (the database's ceiling)`,
                  accept.pgbench.transactionsPerSecond,
                  accept.pgbench.latencyAverageMs === undefined
                    ? 'n/a'
                    : `avg ${accept.pgbench.latencyAverageMs}`,
                  '',
                  accept.pgbench.failed,
                  '',
                  cpuMs(accept.pgbench.cpu.postgres),
                  '',
                  '',
                ],
              ]
            : []),
          [
            'ratio ours / bare; ours / pgbench',
            `${ratio(accept.ours.requestsPerSecond, accept.baseline.requestsPerSecond) ?? 'n/a'}; ${accept.pgbench ? (ratio(accept.ours.requestsPerSecond, accept.pgbench.transactionsPerSecond) ?? 'n/a') : 'n/a'}`,
            '',
            '',
            '',
            '',
            '',
            '',
            '',
          ],
        ],
      ),
      '',
    );
  }

  if (saga) {
    const knees = new Set(saga.searches.flatMap((search) => kneePoint(search) ?? []));
    parts.push(
      `## 2. The knee of ours, end to end (open loop)`,
      '',
      "Open loop from the load generator's process: requests sent on a fixed schedule, never waiting for answers; each card's latency counts from its scheduled send to the answer carrying its terminal state (ours: `POST /v1/cards` with `Prefer: wait=N` answers 200 with the terminal card, or 202 when the wait runs out and the client long-polls on). A point is good when every request was accepted, every card became terminal and p99 < 1 s; the rate is searched by doubling, then bisection between the highest good and lowest bad rate. CPU per terminal card (ms) is counted from the first send until the last card ended: our five processes, PostgreSQL, Kafka, and the load generator (its own process).",
      '',
      ...saga.searches.map(searchLine),
      '',
      pointsTable([...saga.searches.flatMap((search) => search.points), ...saga.overload], knees),
      '',
      '### Stages at the knee',
      '',
      "p50 / p99 ms, from the database's timestamps: accept from the request's scheduled send (the client asks `POST /v1/cards` with `Prefer: wait`, so its answer comes with the terminal card) to `cards.created_at`, then `outbox.created_at` → `published_at` (relay), → `inbox.occurred_at` (the worker's time the provider answered: Kafka, worker, provider), → `inbox.received_at` (the result back through Kafka), → `cards.activated_at`/`failed_at` (applied).",
      '',
      table(
        [
          'provider ms',
          'rate /s',
          'accept',
          'outbox → published',
          'published → provider answered',
          'answered → received',
          'received → applied',
          'total (database)',
          'CPU ms/card (ours + PostgreSQL + Kafka)',
        ],
        saga.searches.flatMap((search) => {
          const point = kneePoint(search);
          return point
            ? [
                [
                  search.providerLatencyMs,
                  point.rate,
                  pct(point.stagesMs?.accept),
                  pct(point.stagesMs?.outboxToPublished),
                  pct(point.stagesMs?.publishedToProviderAnswered),
                  pct(point.stagesMs?.providerAnsweredToReceived),
                  pct(point.stagesMs?.receivedToApplied),
                  pct(point.endToEndDatabaseMs),
                  systemCpuMsPerCard(point).toFixed(2),
                ],
              ]
            : [];
        }),
      ),
      '',
      'Bare kafkajs two-hop round trip (produce → consume → produce → consume) on the same broker, at the knee:',
      '',
      table(
        ['offered /s', 'p50 ms', 'p95 ms', 'p99 ms', 'lost'],
        saga.kafkaBaseline.map((baseline) => [
          baseline.rate,
          baseline.latencyMs.p50,
          baseline.latencyMs.p95,
          baseline.latencyMs.p99,
          baseline.lost,
        ]),
      ),
      '',
      `## 5. Peak RSS at every offered rate`,
      '',
      saga.peakRssScenarioOnly
        ? 'VmHWM reset at the start of each point, so each figure is that point alone; the overload point runs at twice the knee.'
        : "VmHWM could not be reset: peaks cover each process's whole life.",
      '',
      table(
        ['provider ms', 'offered /s', 'purpose', ...Object.keys(saga.peakRssMB)],
        [...saga.searches.flatMap((search) => search.points), ...saga.overload].map((point) => [
          point.providerLatencyMs,
          point.rate,
          point.purpose,
          ...Object.keys(saga.peakRssMB).map((name) => point.peakRssMB[name]?.toFixed(1) ?? 'n/a'),
        ]),
      ),
      '',
      table(
        ['process', 'peak RSS MB (all points)', 'target', 'result'],
        Object.entries(saga.peakRssMB).map(([name, mb]) => [
          name,
          mb.toFixed(1),
          '≤ 200 MB',
          marker(mb <= 200),
        ]),
      ),
      '',
    );
  }

  if (relay) {
    parts.push(
      `## 3. Relay throughput`,
      '',
      `${relay.rows} outbox rows, batches of ${relay.batchSize}, ${relay.repeats.length} runs alternating with the bare producer. The relay's clock starts at ${relay.clockStart} and stops at the last row's \`published_at\`; its progress is watched on the broker's offsets, not in the database. The bare kafkajs producer runs in the load generator's process, timed from its connection to its last acknowledged batch.`,
      '',
      table(
        ['run', 'ours rows/s', 'ours s', 'ours CPU s', 'bare rows/s', 'bare s', 'ratio'],
        [
          ...relay.repeats.map((each, index) => [
            index + 1,
            each.oursRowsPerSecond,
            each.oursSeconds,
            each.cpu.ours.toFixed(2),
            each.baselineRowsPerSecond,
            each.baselineSeconds,
            each.ratio ?? 'n/a',
          ]),
          ['median', relay.oursRowsPerSecond, '', '', relay.baselineRowsPerSecond, '', relay.ratio ?? 'n/a'],
        ],
      ),
      '',
    );
  }

  if (sync) {
    const knees = new Set(
      [kneePoint(sync.ours), kneePoint(sync.synchronous)].flatMap((point) => point ?? []),
    );
    parts.push(
      `## 4. Capacity against the synchronous design`,
      '',
      `Provider latency ${sync.providerLatencyMs} ms; both designs driven open loop, the same knee search. Ours: \`POST /v1/cards\` with \`Prefer: wait\`, answered with the terminal card (the client long-polls on after a 202). Synchronous (\`bench/baselines/sync-card-server.ts\`): the same token check, user lookup, limit check and transaction, then the provider called inside the request, 201 when it answers; only the mock provider of ours runs meanwhile.`,
      '',
      searchLine(sync.ours),
      searchLine(sync.synchronous),
      '',
      pointsTable([...sync.ours.points, ...sync.synchronous.points], knees),
      '',
    );
  }

  if (outage) {
    const row = (label: string, outcome: typeof outage.ours): (string | number)[] => [
      label,
      outcome.sent,
      outcome.refused,
      outcome.refusedDuringOutage,
      outcome.active,
      outcome.failed,
      outcome.neverTerminal,
      outcome.lost,
      pct(outcome.endToEndClientMs),
    ];
    parts.push(
      `## 7. A provider outage`,
      '',
      `${outage.rate} cards/s for ${outage.seconds} s (half our capacity at provider latency ${outage.providerLatencyMs} ms); from second ${outage.outageFromSecond} the provider answers every call 503 for ${outage.outageSeconds} s. Ours' clients wait up to ${outage.ours.drainSeconds} s after the last request for their cards. Lost: asked for and never ACTIVE (refused + FAILED + never terminal).`,
      '',
      table(
        [
          'design',
          'requests',
          'refused',
          'refused during the outage',
          'ACTIVE',
          'FAILED',
          'never terminal',
          'lost',
          'ACTIVE: request → terminal p50 / p99 ms',
        ],
        [row('ours', outage.ours), row('synchronous', outage.synchronous)],
      ),
      '',
    );
  }

  if (degraded) {
    parts.push(
      `## 8. A degraded provider`,
      '',
      `${degraded.rate} cards/s for ${degraded.seconds} s (half our capacity) with the provider answering ${Math.round((degraded.faults['errorRate'] ?? 0) * 100)} % of calls 5xx, hanging past the worker's timeout on ${Math.round((degraded.faults['hangRate'] ?? 0) * 100)} % and answering ${Math.round((degraded.faults['malformedRate'] ?? 0) * 100)} % with a malformed body, for the whole run and its drain. Each card has five attempts.`,
      '',
      table(
        [
          'requests',
          'accepted',
          'ACTIVE',
          'ACTIVE share',
          'FAILED by code',
          'never terminal',
          'ACTIVE: request → terminal p50 / p99 ms',
        ],
        [
          [
            degraded.sent,
            degraded.accepted,
            degraded.active,
            `${(degraded.activeShare * 100).toFixed(2)} %`,
            Object.entries(degraded.failedByCode)
              .map(([code, count]) => `${code} ${count}`)
              .join(', ') || 'none',
            degraded.neverTerminal,
            pct(degraded.endToEndClientMs),
          ],
        ],
      ),
      '',
    );
  }

  const { replicated } = results;
  if (replicated) {
    const knee = kneePoint(replicated.search);
    // With no good point, the lowest rate tried says what the profile did.
    const lowest = [...replicated.search.points].sort((a, b) => a.rate - b.rate)[0];
    const single = kneePoint(saga?.searches.find((search) => search.providerLatencyMs === 0));
    const byService = (point: CardsPoint | undefined): string =>
      point
        ? Object.entries(
            Object.entries(point.cpuPerCard.processes).reduce<Record<string, number>>(
              (sums, [name, seconds]) => {
                const service = name.replace(/-\d+$/, '');
                sums[service] = (sums[service] ?? 0) + seconds;
                return sums;
              },
              {},
            ),
          )
            .map(([service, seconds]) => `${service} ${cpuMs(seconds)}`)
            .join(', ')
        : 'n/a';
    const row = (label: string, point: CardsPoint | undefined): (string | number)[] => [
      label,
      point?.rate ?? 'n/a',
      pct(point?.endToEndClientMs),
      point ? cpuMs(point.cpuPerCard.ours) : 'n/a',
      point ? cpuMs(point.cpuPerCard.kafka) : 'n/a',
      point ? systemCpuMsPerCard(point).toFixed(2) : 'n/a',
      byService(point),
    ];
    parts.push(
      `## 9. The saga on the replicated profile`,
      '',
      `The knee search of scenario 2 at provider 0 ms on the replicated profile (\`make up-cluster\`): ${replicated.brokers} brokers, every topic with ${replicated.replicationFactor} replicas and min.insync.replicas ${replicated.minInsyncReplicas} (producers on acks=all wait for a second broker), and ${Object.entries(
        replicated.processes,
      )
        .map(([service, count]) => `${count} × ${service}`)
        .join(
          ', ',
        )}; cards sent to each card-api in turn. The single node's processes are stopped first. On two cores this is not a speed-up: it shows that the profile works, and what replication and more processes cost per card.`,
      '',
      searchLine(replicated.search),
      '',
      pointsTable(replicated.search.points, new Set(knee ? [knee] : [])),
      '',
      'At each knee (its rate, request → terminal latency, CPU ms per terminal card):',
      '',
      table(
        [
          'profile',
          'knee /s',
          'request → terminal p50 / p99 ms',
          'ours',
          'Kafka',
          'ours + PostgreSQL + Kafka',
          'ours by service',
        ],
        [
          row('single node (scenario 2)', single),
          knee ? row('replicated', knee) : row('replicated, no good point: the lowest rate tried', lowest),
        ],
      ),
      '',
    );
  }

  if (results.failures.length > 0) {
    parts.push('## Broken scenarios', '', ...results.failures.map((failure) => `- ${failure}`), '');
  }
  return parts.join('\n');
}
