/**
 * Renders the end-to-end latency chart (percentiles against offered load, per provider latency, beside the bare
 * Kafka round trip) as SVG: vega-lite compiled to vega, rendered headless in Node (no canvas needed for SVG).
 *
 *   node bench/chart.ts [results.json] [out.svg]   defaults: the newest bench/results/*.json, docs/benchmarks-latency.svg
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

import { ROOT } from './lib/processes.ts';
import type { BenchResults } from './lib/results.ts';
import { latestResultsFile } from './lib/results-files.ts';

interface Point {
  rate: number;
  ms: number;
  percentile: string;
  series: string;
}

function points(results: BenchResults): Point[] {
  const out: Point[] = [];
  for (const run of results.saga?.runs ?? []) {
    // A run that completed nothing has no latency to draw.
    if (run.endToEndClientMs.count === 0) {
      continue;
    }
    const series = `ours, provider ${run.providerLatencyMs} ms`;
    for (const percentile of ['p50', 'p95', 'p99'] as const) {
      out.push({ rate: run.rate, ms: Math.max(1, run.endToEndClientMs[percentile]), percentile, series });
    }
  }
  for (const baseline of results.saga?.kafkaBaseline ?? []) {
    for (const percentile of ['p50', 'p95', 'p99'] as const) {
      out.push({
        rate: baseline.rate,
        ms: Math.max(1, baseline.latencyMs[percentile]),
        percentile,
        series: 'bare Kafka, two hops',
      });
    }
  }
  return out;
}

/** The chart's SVG text for one run. */
export async function renderLatencyChart(results: BenchResults): Promise<string> {
  const data = points(results);
  const rates = [...new Set(data.map((point) => point.rate))].sort((a, b) => a - b);
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: 'End-to-end latency (request → terminal card) against offered load',
      subtitle: `${results.mode} run of ${results.startedAt.slice(0, 10)}; ${results.machine.cores} cores, everything co-located`,
    },
    config: { legend: { labelLimit: 280 } },
    width: 560,
    height: 320,
    background: 'white',
    layer: [
      {
        data: { values: data },
        mark: { type: 'line', point: true },
        encoding: {
          x: {
            field: 'rate',
            type: 'quantitative',
            // Exactly the offered rates, so the axis reads as the runs did and does not stretch to a round number.
            scale: { type: 'log', domain: [Math.min(...rates), Math.max(...rates)], nice: false },
            axis: { values: rates },
            title: 'offered load (cards/s)',
          },
          y: { field: 'ms', type: 'quantitative', scale: { type: 'log' }, title: 'latency (ms, log scale)' },
          color: { field: 'percentile', type: 'nominal', title: 'percentile' },
          strokeDash: { field: 'series', type: 'nominal', title: 'measured' },
          shape: { field: 'series', type: 'nominal', title: 'measured' },
          detail: [{ field: 'series' }, { field: 'percentile' }],
        },
      },
      {
        data: { values: [{ ms: 1000, label: 'p99 target: 1 s' }] },
        layer: [
          {
            mark: { type: 'rule', color: 'firebrick', strokeDash: [2, 2] },
            encoding: { y: { field: 'ms', type: 'quantitative' } },
          },
          {
            mark: { type: 'text', align: 'left', dx: 4, dy: -6, color: 'firebrick' },
            encoding: { y: { field: 'ms', type: 'quantitative' }, x: { value: 0 }, text: { field: 'label' } },
          },
        ],
      },
    ],
  };
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

if (import.meta.main) {
  const input = process.argv[2] ?? latestResultsFile();
  const output = process.argv[3] ?? path.join(ROOT, 'docs', 'benchmarks-latency.svg');
  const results = JSON.parse(readFileSync(input, 'utf8')) as BenchResults;
  writeFileSync(output, await renderLatencyChart(results));
  process.stdout.write(`${path.relative(ROOT, output)} written from ${path.relative(ROOT, input)}\n`);
}
