import type { BenchResults, CardsPoint, KneeSearch, TargetOutcome } from './results.ts';
import { ratio } from './stats.ts';

const RSS_LIMIT_MB = 200;
const CPU_LIMIT_MS = 2.5;
const RATE_TARGET = 1000;

const fixed = (value: number | undefined, digits = 2): string =>
  value === undefined ? 'n/a' : value.toFixed(digits);

/** The point a search found to be its knee (the highest good rate). */
export function kneePoint(search: KneeSearch | undefined): CardsPoint | undefined {
  return search?.points.find((point) => point.good && point.rate === search.knee);
}

/** The knee search of ours at a provider latency, from scenario 2 (or 4, for its latency). */
export function oursSearch(results: BenchResults, providerLatencyMs: number): KneeSearch | undefined {
  return (
    results.saga?.searches.find((search) => search.providerLatencyMs === providerLatencyMs) ??
    (results.sync?.providerLatencyMs === providerLatencyMs ? results.sync.ours : undefined)
  );
}

/** "850 cards/s (first bad 900, ±43)", or what the search could tell. */
export function describeKnee(search: KneeSearch | undefined): string {
  if (!search) {
    return 'n/a';
  }
  if (search.knee === undefined) {
    return `none (not even ${search.firstBad ?? '?'} cards/s)`;
  }
  return search.firstBad === undefined
    ? `≥ ${search.knee} cards/s (the search's ceiling)`
    : `${search.knee} cards/s (${search.firstBad} was not)`;
}

/** CPU ms per terminal card of our processes, PostgreSQL and Kafka together (the generator left out). */
export function systemCpuMsPerCard(point: CardsPoint): number {
  const perCard = point.cpuPerCard;
  return (perCard.ours + (perCard.postgres ?? 0) + (perCard.kafka ?? 0)) * 1000;
}

/** Judges each target of the throughput issue against what the run measured; nothing here fails a run. */
export function judgeTargets(results: BenchResults): TargetOutcome[] {
  const outcomes: TargetOutcome[] = [];
  const { accept, saga, relay, sync, outage, degraded } = results;

  for (const latency of saga?.searches.map((search) => search.providerLatencyMs) ?? [0, 50]) {
    const search = oursSearch(results, latency);
    outcomes.push({
      id: `sustained-rate-${latency}`,
      description: `Highest offered open-loop rate with p99 request → terminal < 1 s and every card terminal, provider latency ${latency} ms`,
      measured: describeKnee(search),
      target: `≥ ${RATE_TARGET} cards/s`,
      // A search whose ceiling was good below the target (quick mode) cannot tell.
      met:
        search?.knee !== undefined && search.knee >= RATE_TARGET
          ? true
          : search === undefined || search.firstBad === undefined
            ? undefined
            : false,
    });
  }

  const acceptRatio = accept && ratio(accept.ours.requestsPerSecond, accept.baseline.requestsPerSecond);
  outcomes.push({
    id: 'accept-throughput',
    description: 'Accept rate against a bare node:http + pg server running the same accept SQL, same pool',
    measured: `${fixed(acceptRatio)} × (${accept?.ours.requestsPerSecond ?? 'n/a'} vs ${accept?.baseline.requestsPerSecond ?? 'n/a'} req/s)`,
    target: '≥ 0.8 ×',
    met: acceptRatio === undefined ? undefined : acceptRatio >= 0.8,
  });
  const pgbenchRatio =
    accept?.pgbench && ratio(accept.ours.requestsPerSecond, accept.pgbench.transactionsPerSecond);
  outcomes.push({
    id: 'accept-pgbench',
    description: "Accept rate against pgbench running the same SQL (the database's ceiling)",
    measured: `${fixed(pgbenchRatio)} × (${accept?.ours.requestsPerSecond ?? 'n/a'} req/s vs ${accept?.pgbench?.transactionsPerSecond ?? 'n/a'} tps)`,
    target: 'reported',
    met: undefined,
    reportOnly: true,
  });

  const syncRatio =
    sync?.ours.knee !== undefined && sync.synchronous.knee
      ? ratio(sync.ours.knee, sync.synchronous.knee)
      : undefined;
  outcomes.push({
    id: 'sync-capacity',
    description: `Capacity against the synchronous design, both open loop, provider latency ${sync?.providerLatencyMs ?? 200} ms (highest rate with p99 < 1 s)`,
    measured: `${fixed(syncRatio)} × (ours ${describeKnee(sync?.ours)}; synchronous ${describeKnee(sync?.synchronous)})`,
    target: '≥ 3 ×',
    met: syncRatio === undefined ? undefined : syncRatio >= 3,
  });

  outcomes.push({
    id: 'provider-outage',
    description: outage
      ? `A ${outage.outageSeconds} s provider outage in the middle of a ${outage.seconds} s run at ${outage.rate} cards/s (half our capacity): requests refused, cards lost`
      : 'A provider outage in the middle of a run at half our capacity: requests refused, cards lost',
    measured: outage
      ? `ours ${outage.ours.refused} refused, ${outage.ours.lost} lost of ${outage.ours.sent}; synchronous ${outage.synchronous.refused} refused, ${outage.synchronous.lost} lost of ${outage.synchronous.sent}`
      : 'n/a',
    target: 'reported',
    met: undefined,
    reportOnly: true,
  });

  outcomes.push({
    id: 'degraded-provider',
    description: degraded
      ? `The provider degraded for a whole ${degraded.seconds} s run at ${degraded.rate} cards/s (20% 5xx, 5% hangs, 2% malformed): share of accepted cards ACTIVE`
      : 'The provider degraded for a whole run (20% 5xx, 5% hangs, 2% malformed): share of accepted cards ACTIVE',
    measured: degraded
      ? `${(degraded.activeShare * 100).toFixed(2)} % (${degraded.active} of ${degraded.accepted}; failed ${JSON.stringify(degraded.failedByCode)})`
      : 'n/a',
    target: '≥ 99 %',
    met: degraded === undefined || degraded.accepted === 0 ? undefined : degraded.activeShare >= 0.99,
  });

  outcomes.push({
    id: 'relay-throughput',
    description: 'Relay against a bare kafkajs producer, same batch size (median of the repeats; spread)',
    measured: relay
      ? `${fixed(relay.ratio)} × (${relay.oursRowsPerSecond} vs ${relay.baselineRowsPerSecond} rows/s; ${fixed(relay.ratioMin)}–${fixed(relay.ratioMax)} over ${relay.repeats.length} runs)`
      : 'n/a',
    target: '≥ 0.8 ×',
    met: relay?.ratio === undefined ? undefined : relay.ratio >= 0.8,
  });

  const knee = kneePoint(oursSearch(results, 0));
  const cpuMs = knee && systemCpuMsPerCard(knee);
  outcomes.push({
    id: 'cpu-per-card',
    description: 'CPU per terminal card at the knee (provider 0), all processes incl. PostgreSQL and Kafka',
    measured:
      knee && cpuMs !== undefined
        ? `${cpuMs.toFixed(2)} ms at ${knee.rate} cards/s (load generator ${(knee.cpuPerCard.loadGenerator * 1000).toFixed(2)} ms more)`
        : 'n/a',
    target: `≤ ${CPU_LIMIT_MS} ms`,
    met: cpuMs === undefined ? undefined : cpuMs <= CPU_LIMIT_MS,
  });

  const peaks = Object.entries(saga?.peakRssMB ?? {}).sort(([, a], [, b]) => b - a);
  const largest = peaks[0];
  const overload = saga?.overload[0];
  outcomes.push({
    id: 'peak-rss',
    description: `Peak RSS of each process at every offered rate, 2× the knee included${overload ? ` (${overload.rate} cards/s)` : ''}`,
    measured: largest ? `${largest[1].toFixed(0)} MB (${largest[0]}, the largest)` : 'n/a',
    target: `≤ ${RSS_LIMIT_MB} MB`,
    met: largest ? largest[1] <= RSS_LIMIT_MB : undefined,
  });

  const stages = knee?.stagesMs;
  outcomes.push({
    id: 'stage-latency',
    description: 'Latency of each stage at the knee (p50 / p99 ms, database timestamps)',
    measured: stages
      ? `accept ${stages.accept.p50} / ${stages.accept.p99}; outbox → published ${stages.outboxToPublished.p50} / ${stages.outboxToPublished.p99}; → provider answered ${stages.publishedToProviderAnswered.p50} / ${stages.publishedToProviderAnswered.p99}; → received ${stages.providerAnsweredToReceived.p50} / ${stages.providerAnsweredToReceived.p99}; → applied ${stages.receivedToApplied.p50} / ${stages.receivedToApplied.p99}`
      : 'n/a',
    target: 'reported',
    met: undefined,
    reportOnly: true,
  });

  const kafka = saga?.kafkaBaseline[0];
  const kafkaPoint = kafka && oursSearch(results, 0)?.points.find((point) => point.rate === kafka.rate);
  const p50Ratio = kafkaPoint && ratio(kafkaPoint.endToEndClientMs.p50, kafka.latencyMs.p50);
  outcomes.push({
    id: 'end-to-end-p50',
    description: `End-to-end p50 at the knee${kafka ? ` (${kafka.rate} cards/s)` : ''}, provider latency 0, against the bare two-hop Kafka round trip`,
    measured: `${fixed(p50Ratio)} × (${kafkaPoint?.endToEndClientMs.p50 ?? 'n/a'} vs ${kafka?.latencyMs.p50 ?? 'n/a'} ms)`,
    target: '≤ 3 ×',
    met: p50Ratio === undefined ? undefined : p50Ratio <= 3,
  });
  return outcomes;
}
