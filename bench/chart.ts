/**
 * Renders the knee chart (p99 request → terminal against offered load, for ours at each provider latency and for
 * the synchronous design, each knee marked, the 1 s line drawn) as SVG: vega-lite compiled to vega, rendered headless in Node (no canvas needed for SVG).
 *
 *   node bench/chart.ts [results.json] [out.svg]   defaults: the newest bench/results/*.json, docs/benchmarks-latency.svg
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

import { ROOT } from './lib/processes.ts';
import type { BenchResults, KneeSearch } from './lib/results.ts';
import { latestResultsFile } from './lib/results-files.ts';

interface Point {
  rate: number;
  ms: number;
  series: string;
}

interface Knee {
  rate: number;
  ms: number;
  series: string;
  label: string;
}

function searches(results: BenchResults): KneeSearch[] {
  return [
    ...(results.saga?.searches ?? []),
    ...(results.sync ? [results.sync.ours, results.sync.synchronous] : []),
  ];
}

const seriesOf = (search: KneeSearch): string =>
  `${search.design === 'ours' ? 'ours' : 'synchronous'}, provider ${search.providerLatencyMs} ms`;

/** p99 request → terminal of every point of every knee search, by design and provider latency, in rate order. */
function points(results: BenchResults): Point[] {
  const out: Point[] = [];
  for (const search of searches(results)) {
    const series = seriesOf(search);
    const runs = [
      ...search.points,
      ...(search.design === 'ours' && search.providerLatencyMs === 0 ? (results.saga?.overload ?? []) : []),
    ];
    for (const run of [...runs].sort((a, b) => a.rate - b.rate)) {
      // A run that completed nothing has no latency to draw.
      if (run.endToEndClientMs.count > 0) {
        out.push({ rate: run.rate, ms: Math.max(1, run.endToEndClientMs.p99), series });
      }
    }
  }
  return out;
}

function knees(results: BenchResults): Knee[] {
  return searches(results).flatMap((search) => {
    const point = search.points.find((each) => each.good && each.rate === search.knee);
    return point
      ? [
          {
            rate: point.rate,
            ms: Math.max(1, point.endToEndClientMs.p99),
            series: seriesOf(search),
            label: `knee ${point.rate}/s`,
          },
        ]
      : [];
  });
}

/** The chart's SVG text for one run. */
export async function renderLatencyChart(results: BenchResults): Promise<string> {
  const data = points(results);
  const marked = knees(results);
  const rates = [...new Set(data.map((point) => point.rate))].sort((a, b) => a - b);
  const x = {
    field: 'rate',
    type: 'quantitative' as const,
    scale: { type: 'log' as const, domain: [Math.min(...rates, 10), Math.max(...rates, 100)], nice: false },
    title: 'offered load (cards/s, open loop)',
  };
  const y = {
    field: 'ms',
    type: 'quantitative' as const,
    scale: { type: 'log' as const },
    title: 'p99 request → terminal (ms, log scale)',
  };
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: 'The knee: p99 request → terminal card against offered load',
      subtitle: `${results.mode} run of ${results.startedAt.slice(0, 10)}; ${results.machine.cores} cores, everything co-located; each knee is the highest rate with p99 < 1 s and every card terminal`,
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
          x,
          y,
          color: { field: 'series', type: 'nominal', title: 'design' },
          detail: [{ field: 'series' }],
        },
      },
      {
        data: { values: marked },
        layer: [
          {
            mark: { type: 'point', shape: 'diamond', size: 160, filled: true },
            encoding: { x, y, color: { field: 'series', type: 'nominal', title: 'design' } },
          },
          {
            mark: { type: 'text', align: 'left', dx: 8, dy: 10, fontSize: 10 },
            encoding: {
              x,
              y,
              text: { field: 'label' },
              color: { field: 'series', type: 'nominal', title: 'design' },
            },
          },
        ],
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
