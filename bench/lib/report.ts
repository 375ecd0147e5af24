import type { CpuSpent } from './resources.ts';
import type { BenchResults, TargetOutcome } from './results.ts';
import { ratio } from './stats.ts';
import { highestRateUnderOneSecond } from './targets.ts';

/** A markdown table (prettier aligns it when the file is written). */
function table(headers: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]): string => `| ${cells.map(String).join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n');
}

/** Milliseconds of CPU, from seconds; "n/a" when it could not be read. */
const cpuMs = (seconds: number | undefined): string =>
  seconds === undefined ? 'n/a' : (seconds * 1000).toFixed(2);

const marker = (met: boolean | undefined): string =>
  met === undefined ? 'not measured' : met ? '✅ met' : '❌ missed';

function cpuCells(perCard: CpuSpent): string[] {
  return [cpuMs(perCard.ours), cpuMs(perCard.postgres), cpuMs(perCard.kafka), cpuMs(perCard.loadGenerator)];
}

/** The targets table alone (docs/benchmarks.md puts it first). */
export function targetsTable(targets: readonly TargetOutcome[]): string {
  return table(
    ['Target', 'Measured (ours / baseline)', 'Target', 'Result'],
    targets.map((target) => [target.description, target.measured, target.target, marker(target.met)]),
  );
}

/** Every scenario's figures as markdown: what `make bench` prints and writes beside the JSON. */
export function renderReport(results: BenchResults): string {
  const parts: string[] = [`## Targets`, '', targetsTable(results.targets), ''];
  const { accept, saga, relay, sync } = results;

  if (accept) {
    parts.push(
      `## 1. Accept throughput`,
      '',
      `POST /v1/cards, ${accept.connections} connections, ${accept.seconds} s, ${accept.users} users in rotation. CPU per request (ms; scenario 6): the server process, PostgreSQL, Kafka (idle here) and the load generator.`,
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
          [
            'card-api (ours)',
            accept.ours.requestsPerSecond,
            accept.ours.latencyMs.p50,
            accept.ours.latencyMs.p99,
            accept.ours.errors,
            ...cpuCells(accept.ours.cpuPerRequest),
          ],
          [
            'bare node:http + pg',
            accept.baseline.requestsPerSecond,
            accept.baseline.latencyMs.p50,
            accept.baseline.latencyMs.p99,
            accept.baseline.errors,
            ...cpuCells(accept.baseline.cpuPerRequest),
          ],
          [
            'ratio ours / bare',
            ratio(accept.ours.requestsPerSecond, accept.baseline.requestsPerSecond) ?? 'n/a',
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
    parts.push(
      `## 2. End-to-end saga latency (open loop)`,
      '',
      "Client: from each request's scheduled send to the long-poll's terminal answer. Database: `created_at` to `activated_at`/`failed_at`. CPU per terminal card (ms; scenario 6), counted from the first send until the last card ended, so the processes' idle work while the pipeline drains is in it: all five of our processes, then PostgreSQL, Kafka and the load generator.",
      '',
      table(
        [
          'provider ms',
          'offered /s',
          'achieved /s',
          'client p50 / p95 / p99 ms',
          'database p50 / p95 / p99 ms',
          'accept p50 / p99 ms',
          'failed requests',
          'failed polls',
          'still PENDING',
          'CPU ms/card: ours',
          'PostgreSQL',
          'Kafka',
          'load generator',
          'send lag p99 ms',
        ],
        saga.runs.map((run) => [
          run.providerLatencyMs,
          run.rate,
          run.achievedPerSecond,
          `${run.endToEndClientMs.p50} / ${run.endToEndClientMs.p95} / ${run.endToEndClientMs.p99}`,
          `${run.endToEndDatabaseMs.p50} / ${run.endToEndDatabaseMs.p95} / ${run.endToEndDatabaseMs.p99}`,
          `${run.acceptMs.p50} / ${run.acceptMs.p99}`,
          run.errors,
          run.pollErrors,
          run.notTerminal,
          ...cpuCells(run.cpuPerCard),
          run.sendLagMs.p99,
        ]),
      ),
      '',
      'Bare kafkajs two-hop round trip (produce → consume → produce → consume) on the same broker, same rate:',
      '',
      table(
        ['offered /s', 'p50 ms', 'p95 ms', 'p99 ms', 'lost', 'ours client p50 / bare p50 (provider 0)'],
        saga.kafkaBaseline.map((baseline) => {
          const ours = saga.runs.find((run) => run.rate === baseline.rate && run.providerLatencyMs === 0);
          return [
            baseline.rate,
            baseline.latencyMs.p50,
            baseline.latencyMs.p95,
            baseline.latencyMs.p99,
            baseline.lost,
            (ours && ratio(ours.endToEndClientMs.p50, baseline.latencyMs.p50)) ?? 'n/a',
          ];
        }),
      ),
      '',
      table(
        ['provider ms', 'highest offered rate with p99 < 1 s and every card terminal'],
        [...new Set(saga.runs.map((run) => run.providerLatencyMs))].map((latency) => [
          latency,
          highestRateUnderOneSecond(results, latency) ?? 'none',
        ]),
      ),
      '',
      `## 5. Peak RSS during scenario 2`,
      '',
      saga.peakRssScenarioOnly
        ? 'VmHWM reset at the start of each run; the peak of scenario 2 is the largest of its runs.'
        : "VmHWM could not be reset: peaks cover each process's whole life.",
      '',
      table(
        ['process', 'peak RSS MB', 'target', 'result'],
        Object.entries(saga.peakRssMB).map(([name, mb]) => [
          name,
          mb.toFixed(1),
          '≤ 200 MB',
          marker(mb <= 200),
        ]),
      ),
      '',
      'Peak RSS (MB) of each run alone, by offered load:',
      '',
      table(
        ['provider ms', 'offered /s', ...Object.keys(saga.peakRssMB)],
        saga.runs.map((run) => [
          run.providerLatencyMs,
          run.rate,
          ...Object.keys(saga.peakRssMB).map((name) => run.peakRssMB[name]?.toFixed(1) ?? 'n/a'),
        ]),
      ),
      '',
    );
  }

  if (relay) {
    parts.push(
      `## 3. Relay throughput`,
      '',
      `${relay.rows} outbox rows, batches of ${relay.batchSize}.`,
      '',
      table(
        ['publisher', 'rows/s', 'seconds', 'CPU s'],
        [
          ['outbox-relay (ours)', relay.oursRowsPerSecond, relay.oursSeconds, relay.cpu.ours.toFixed(2)],
          ['bare kafkajs producer', relay.baselineRowsPerSecond, relay.baselineSeconds, ''],
          ['ratio ours / bare', ratio(relay.oursRowsPerSecond, relay.baselineRowsPerSecond) ?? 'n/a', '', ''],
        ],
      ),
      '',
    );
  }

  if (sync) {
    parts.push(
      `## 4. Against the synchronous design`,
      '',
      `Provider latency ${sync.providerLatencyMs} ms, ${sync.concurrency} clients in a closed loop, ${sync.seconds} s; a client wants a terminal card.`,
      '',
      table(
        ['design', 'cards/s', 'accept p50 / p99 ms', 'request → terminal p50 / p99 ms', 'errors'],
        [
          [
            'ours (202, then long-poll)',
            sync.ours.cardsPerSecond,
            `${sync.ours.acceptMs.p50} / ${sync.ours.acceptMs.p99}`,
            `${sync.ours.terminalMs.p50} / ${sync.ours.terminalMs.p99}`,
            sync.ours.errors,
          ],
          [
            'synchronous (provider inside the request)',
            sync.synchronous.cardsPerSecond,
            `${sync.synchronous.acceptMs.p50} / ${sync.synchronous.acceptMs.p99}`,
            `${sync.synchronous.terminalMs.p50} / ${sync.synchronous.terminalMs.p99}`,
            sync.synchronous.errors,
          ],
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
