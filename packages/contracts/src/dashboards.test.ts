import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { collectDefaultMetrics, Registry } from 'prom-client';
import { parse } from 'yaml';
import { z } from 'zod';

import { MetricCatalogue, metricNames } from './metrics';

/*
 * The Grafana dashboard and the Prometheus alert rules may name only metrics the processes really export: the
 * catalogue of ./metrics.ts (whose own test checks each process exports it), the few prom-client default metrics
 * listed below, and Prometheus's `up`. A panel that names anything else fails here, with its title and query.
 */

const root = path.resolve(__dirname, '../../..');
const read = (file: string): string => readFileSync(path.join(root, file), 'utf8');
const readYaml = (file: string): unknown => parse(read(file), { merge: true });

const DASHBOARD_FILE = 'infra/grafana/dashboards/card-issuing.json';
const ALERTS_FILE = 'infra/prometheus/alerts.yml';
const PROMETHEUS_FILE = 'infra/prometheus/prometheus.yml';
const DATASOURCES_FILE = 'infra/grafana/provisioning/datasources/prometheus.yml';
const DASHBOARD_PROVIDERS_FILE = 'infra/grafana/provisioning/dashboards/dashboards.yml';
const COMPOSE_FILE = 'docker-compose.yml';

/** prom-client default metrics the dashboard and alerts use; each is checked against prom-client's real list. */
const DEFAULT_METRICS_USED = [
  'process_cpu_seconds_total',
  'process_resident_memory_bytes',
  'nodejs_heap_size_used_bytes',
  'nodejs_eventloop_lag_p99_seconds',
] as const;

/** Labels Prometheus adds to every scraped series. */
const TARGET_LABELS = ['job', 'instance'];

/** The alert names the operator runbook refers to. */
const RUNBOOK_ALERTS = [
  'ConsumerLagHigh',
  'DeadLettersAppearing',
  'HighHttp5xxRate',
  'OutboxBacklogGrowing',
  'OutboxNoActiveRelay',
  'OutboxOldestTooOld',
  'OutboxRowQuarantined',
  'ProcessDown',
  'ProviderCircuitOpen',
  'SagaP99High',
];

// --- the files, parsed just enough to be checked ---------------------------------------------------------------

const DatasourceRef = z.looseObject({ type: z.string().optional(), uid: z.string() });
const Target = z.looseObject({
  refId: z.string(),
  expr: z.string().min(1),
  datasource: DatasourceRef.optional(),
});
const Panel = z.looseObject({
  id: z.number(),
  type: z.string(),
  title: z.string(),
  datasource: DatasourceRef.optional(),
  targets: z.array(Target).default([]),
  panels: z.array(z.unknown()).default([]),
});
type Panel = z.output<typeof Panel>;
const Dashboard = z.looseObject({
  uid: z.string(),
  title: z.string(),
  schemaVersion: z.number(),
  panels: z.array(z.unknown()),
});

/** Strict like Prometheus itself, which refuses a rule file with an unknown field. */
const AlertRule = z.strictObject({
  alert: z.string().regex(/^[A-Z][A-Za-z0-9]+$/),
  expr: z.string().min(1),
  for: z.string().regex(/^\d+[smh]$/),
  labels: z.strictObject({ severity: z.enum(['warning', 'critical']) }),
  annotations: z.strictObject({ summary: z.string().min(1), description: z.string().min(1) }),
});
const AlertRules = z.strictObject({
  groups: z.array(z.strictObject({ name: z.string(), rules: z.array(AlertRule).min(1) })).min(1),
});

const PrometheusConfig = z.looseObject({
  global: z.looseObject({ scrape_interval: z.string() }),
  rule_files: z.array(z.string()),
  scrape_configs: z.array(
    z.looseObject({
      job_name: z.string(),
      static_configs: z.array(z.looseObject({ targets: z.array(z.string()) })),
    }),
  ),
});

const Datasources = z.looseObject({
  apiVersion: z.literal(1),
  datasources: z.array(z.looseObject({ uid: z.string(), type: z.string(), url: z.string() })),
});

const DashboardProviders = z.looseObject({
  apiVersion: z.literal(1),
  providers: z.array(
    z.looseObject({ type: z.literal('file'), options: z.looseObject({ path: z.string() }) }),
  ),
});

const Compose = z.looseObject({
  services: z.record(
    z.string(),
    z.looseObject({
      image: z.string().optional(),
      environment: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
      ports: z.array(z.string()).optional(),
      volumes: z.array(z.string()).optional(),
    }),
  ),
});
type ComposeService = z.output<typeof Compose>['services'][string];

/** Every panel, rows included, with the panels of collapsed rows. */
function flattenPanels(raw: readonly unknown[]): Panel[] {
  return raw.flatMap((item) => {
    const panel = Panel.parse(item);
    return [panel, ...flattenPanels(panel.panels)];
  });
}

const dashboard = Dashboard.parse(JSON.parse(read(DASHBOARD_FILE)));
const panels = flattenPanels(dashboard.panels);
const alertRules = AlertRules.parse(readYaml(ALERTS_FILE)).groups.flatMap((group) => group.rules);
const prometheus = PrometheusConfig.parse(readYaml(PROMETHEUS_FILE));
const datasources = Datasources.parse(readYaml(DATASOURCES_FILE)).datasources;
const dashboardProviders = DashboardProviders.parse(readYaml(DASHBOARD_PROVIDERS_FILE)).providers;
const compose = Compose.parse(readYaml(COMPOSE_FILE));

/** Every PromQL expression of the dashboard and the alert rules, with where it comes from. */
const queries: { where: string; expr: string }[] = [
  ...panels.flatMap((panel) =>
    panel.targets.map((target) => ({ where: `panel "${panel.title}" (${target.refId})`, expr: target.expr })),
  ),
  ...alertRules.map((rule) => ({ where: `alert ${rule.alert}`, expr: rule.expr })),
];

// --- a small PromQL reader: enough to find metric names and label names -----------------------------------------

/** A series selector: the series name (empty when the selector has none) and the labels its matchers name. */
interface Selector {
  series: string;
  matcherLabels: string[];
}

/** What a query reads: its selectors, and the labels of its by/without/on/ignoring/group_left/group_right lists. */
interface QueryParts {
  selectors: Selector[];
  groupingLabels: string[];
}

/** Words that are not metrics: binary operators, modifiers and the number literals Inf and NaN. */
const PROMQL_KEYWORDS = new Set([
  'and',
  'or',
  'unless',
  'bool',
  'offset',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'inf',
  'nan',
]);

/**
 * Reads the selectors of a PromQL expression: identifiers that are not keywords and not followed by `(` (functions
 * and aggregations are), with the labels of the `{…}` right after them. String literals, Grafana variables, range
 * and subquery brackets and grouping lists are taken out first, so nothing inside them is mistaken for a metric.
 */
function readQuery(expr: string): QueryParts {
  const groupingLabels: string[] = [];
  const text = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\$\{[^}]*\}|\$\w+/g, '')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(
      /\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/gi,
      (_clause, list: string) => {
        groupingLabels.push(
          ...list
            .split(',')
            .map((label) => label.trim())
            .filter((label) => label !== ''),
        );
        return ' ';
      },
    );

  const selectors: Selector[] = [];
  let previous: Selector | undefined;
  // Matchers, identifiers, numbers and durations (5m, 1e3, 0x1f: a token that starts with a digit), anything else.
  const token = /\{[^}]*\}|[A-Za-z_:][\w:]*|\.?\d[\w.]*|\S/g;
  for (let match = token.exec(text); match !== null; match = token.exec(text)) {
    const [word] = match;
    const follows = text.slice(token.lastIndex);
    if (word.startsWith('{')) {
      const labels = [...word.matchAll(/([A-Za-z_]\w*)\s*(?:=~|!~|!=|=)/g)].map((label) => label[1]!);
      const selector = previous ?? { series: '', matcherLabels: [] };
      selector.matcherLabels.push(...labels);
      if (previous === undefined) selectors.push(selector);
      previous = undefined;
    } else if (
      /^[A-Za-z_:]/.test(word) &&
      !PROMQL_KEYWORDS.has(word.toLowerCase()) &&
      !/^\s*\(/.test(follows)
    ) {
      previous = { series: word, matcherLabels: [] };
      selectors.push(previous);
      if (!/^\s*\{/.test(follows)) previous = undefined;
    } else {
      previous = undefined;
    }
  }
  return { selectors, groupingLabels };
}

/** A series Prometheus really holds, the metric it belongs to and the labels it carries. */
interface KnownSeries {
  metric: string;
  labels: ReadonlySet<string>;
}

/** The series of one metric: a histogram is stored as _bucket (with `le`), _sum and _count, never by its name. */
function seriesOf(name: string, type: string, labels: readonly string[]): [string, KnownSeries][] {
  const known = (extra: string[] = []): KnownSeries => ({
    metric: name,
    labels: new Set([...labels, ...extra, ...TARGET_LABELS]),
  });
  if (type !== 'histogram') return [[name, known()]];
  return [
    [`${name}_bucket`, known(['le'])],
    [`${name}_sum`, known()],
    [`${name}_count`, known()],
  ];
}

/** The metrics of the catalogue, the default metrics listed above (as prom-client defines them) and `up`. */
async function knownSeries(): Promise<Map<string, KnownSeries>> {
  const defaults = await promClientDefaultMetrics();
  return new Map([
    ...Object.values(MetricCatalogue).flatMap((metric) => seriesOf(metric.name, metric.type, metric.labels)),
    ...DEFAULT_METRICS_USED.flatMap((name) => {
      const metric = defaults.get(name);
      return metric === undefined ? [] : seriesOf(name, metric.type, metric.labels);
    }),
    ...seriesOf('up', 'gauge', []),
  ]);
}

/** prom-client's own default metrics, with their types and labels, as every process registers them. */
async function promClientDefaultMetrics(): Promise<Map<string, { type: string; labels: string[] }>> {
  const register = new Registry();
  collectDefaultMetrics({ register });
  const metrics = await register.getMetricsAsJSON();
  return new Map(
    metrics.map((metric) => [
      metric.name,
      {
        type: String(metric.type),
        labels: [
          ...new Set(
            metric.values.flatMap((value) => Object.keys(value.labels).filter((label) => label !== 'le')),
          ),
        ],
      },
    ]),
  );
}

/** What is wrong with a query: unknown series, histograms read by their bare name, labels the series do not carry. */
function problemsIn(expr: string, known: ReadonlyMap<string, KnownSeries>): string[] {
  const { selectors, groupingLabels } = readQuery(expr);
  const problems: string[] = [];
  const available = new Set(TARGET_LABELS);
  if (selectors.length === 0) problems.push('names no metric');
  for (const { series, matcherLabels } of selectors) {
    const found = known.get(series);
    if (series === '') {
      problems.push('has a selector without a metric name');
    } else if (found === undefined) {
      const histogram = Object.values(MetricCatalogue).find(
        (m) => m.name === series && m.type === 'histogram',
      );
      problems.push(
        histogram === undefined
          ? `names ${series}, which no process exports`
          : `names the histogram ${series} without _bucket, _sum or _count`,
      );
    } else {
      found.labels.forEach((label) => available.add(label));
      for (const label of matcherLabels.filter((l) => !found.labels.has(l))) {
        problems.push(`matches on ${label}, which ${series} does not carry`);
      }
    }
  }
  for (const label of groupingLabels.filter((l) => !available.has(l))) {
    problems.push(`groups by ${label}, which none of its series carries`);
  }
  return problems;
}

/** The metric a series belongs to, for the catalogue check below. */
function metricOf(series: string): string {
  const histogram = Object.values(MetricCatalogue).find(
    (metric) =>
      metric.type === 'histogram' && /^(.*)_(?:bucket|sum|count)$/.exec(series)?.[1] === metric.name,
  );
  return histogram?.name ?? series;
}

// --- the tests --------------------------------------------------------------------------------------------------

describe('the PromQL reader used below', () => {
  let known: Map<string, KnownSeries>;
  beforeAll(async () => {
    known = await knownSeries();
  });

  it('when reading a gauge in an aggregation, then it finds the metric and no function', () => {
    expect(readQuery('max(outbox_backlog_rows)').selectors.map((s) => s.series)).toEqual([
      'outbox_backlog_rows',
    ]);
  });

  it('when reading a histogram quantile, then it finds the histogram and the le grouping', () => {
    const parts = readQuery(
      'histogram_quantile(0.99, sum by (le) (rate(card_saga_duration_seconds_bucket[5m])))',
    );
    expect(parts.selectors.map((s) => metricOf(s.series))).toEqual(['card_saga_duration_seconds']);
    expect(parts.groupingLabels).toEqual(['le']);
  });

  it('when a query has matchers, strings, variables, durations and keywords, then only metrics are found', () => {
    const parts = readQuery(
      'sum by (job) (rate(http_request_duration_seconds_count{status_code=~"5..", route!="up"}[$__rate_interval]))' +
        ' / ignoring(route) group_left sum(up offset 5m) > bool 1e3 and on (job) kafka_consumer_lag{topic="x"}',
    );
    expect(parts.selectors).toEqual([
      { series: 'http_request_duration_seconds_count', matcherLabels: ['status_code', 'route'] },
      { series: 'up', matcherLabels: [] },
      { series: 'kafka_consumer_lag', matcherLabels: ['topic'] },
    ]);
    expect(parts.groupingLabels).toEqual(['job', 'route', 'job']);
  });

  it('when a panel names a metric that does not exist, then the check reports it', () => {
    expect(problemsIn('sum(rate(cards_issued_total[5m]))', known)).toEqual([
      'names cards_issued_total, which no process exports',
    ]);
  });

  it('when a histogram is read by its bare name, then the check reports it', () => {
    expect(problemsIn('rate(card_saga_duration_seconds[5m])', known)).toEqual([
      'names the histogram card_saga_duration_seconds without _bucket, _sum or _count',
    ]);
  });

  it('when a query uses a label its metric does not carry, then the check reports it', () => {
    expect(
      problemsIn('sum by (status) (rate(http_request_duration_seconds_count{code="500"}[5m]))', known),
    ).toEqual([
      'matches on code, which http_request_duration_seconds_count does not carry',
      'groups by status, which none of its series carries',
    ]);
  });
});

describe('dashboard and alert queries', () => {
  it('when listing the prom-client default metrics they may use, then prom-client really defines each', async () => {
    const defaults = await promClientDefaultMetrics();
    expect(DEFAULT_METRICS_USED.filter((name) => !defaults.has(name))).toEqual([]);
  });

  it('when reading every query, then there are panel and alert queries to check', () => {
    expect(queries.filter((q) => q.where.startsWith('panel')).length).toBeGreaterThan(10);
    expect(queries.filter((q) => q.where.startsWith('alert')).length).toBe(alertRules.length);
  });

  it('when reading every query, then each names only exported metrics and the labels they carry', async () => {
    const known = await knownSeries();
    const problems = queries.flatMap(({ where, expr }) =>
      problemsIn(expr, known).map((problem) => `${where} ${problem}: ${expr}`),
    );
    expect(problems).toEqual([]);
  });

  it('when collecting the metrics the queries name, then each is catalogued, a listed default, or up', () => {
    const allowed = new Set<string>([...metricNames, ...DEFAULT_METRICS_USED, 'up']);
    const named = new Set(
      queries.flatMap(({ expr }) => readQuery(expr).selectors.map((s) => metricOf(s.series))),
    );
    expect([...named].filter((name) => !allowed.has(name))).toEqual([]);
  });
});

describe('the Grafana dashboard', () => {
  const datasourceUids = new Set(datasources.map((datasource) => datasource.uid));
  const queryPanels = panels.filter((panel) => panel.type !== 'row');

  it('when provisioned, then it has its fixed uid and unique panel ids', () => {
    expect(dashboard.uid).toBe('card-issuing');
    expect(new Set(panels.map((panel) => panel.id)).size).toBe(panels.length);
  });

  it('when a panel or one of its queries names a datasource, then its uid is provisioned', () => {
    const unknown = queryPanels.flatMap((panel) =>
      [panel.datasource, ...panel.targets.map((target) => target.datasource)]
        .filter((ref) => ref === undefined || !datasourceUids.has(ref.uid))
        .map((ref) => `panel "${panel.title}": ${ref?.uid ?? 'no datasource'}`),
    );
    expect(unknown).toEqual([]);
  });

  it('when listing panels other than rows, then each has at least one query', () => {
    expect(queryPanels.filter((panel) => panel.targets.length === 0).map((panel) => panel.title)).toEqual([]);
  });
});

describe('the alert rules', () => {
  it('when listing them, then they are the alerts the runbook names, each once', () => {
    expect(alertRules.map((rule) => rule.alert).sort()).toEqual(RUNBOOK_ALERTS);
  });
});

describe('Prometheus, Grafana and docker-compose.yml together', () => {
  const services = compose.services;
  const service = (name: string): ComposeService => {
    const found = services[name];
    if (found === undefined) throw new Error(`docker-compose.yml has no service ${name}`);
    return found;
  };
  /** A service's bind mounts, container path to the repository file it comes from. */
  const bindMounts = (name: string): Map<string, string> =>
    new Map(
      (service(name).volumes ?? [])
        .map((volume) => volume.split(':'))
        .filter(([source]) => source?.startsWith('./'))
        .map(([source, target]) => [target!, path.normalize(source!)]),
    );
  const processes = [...new Set(Object.values(MetricCatalogue).flatMap((metric) => metric.processes))].sort();

  it('when scraping, then every process of the catalogue is a job scraped every 5 s at its compose HTTP port', () => {
    expect(prometheus.global.scrape_interval).toBe('5s');
    for (const name of processes) {
      const jobs = prometheus.scrape_configs.filter((job) => job.job_name === name);
      expect(jobs.map((job) => job.job_name)).toEqual([name]);
      const targets = jobs.flatMap((job) => job.static_configs.flatMap((config) => config.targets));
      const ports = Object.entries(service(name).environment ?? {})
        .filter(([key]) => key.endsWith('HTTP_PORT'))
        .map(([, value]) => `${name}:${String(value)}`);
      expect(ports).toHaveLength(1);
      expect(targets).toEqual(ports);
    }
  });

  it('when Prometheus starts, then its config and every rule file are mounted from the repository', () => {
    const mounts = bindMounts('prometheus');
    expect(mounts.get('/etc/prometheus/prometheus.yml')).toBe(PROMETHEUS_FILE);
    expect(prometheus.rule_files.map((file) => mounts.get(file))).toEqual([ALERTS_FILE]);
  });

  it('when Grafana starts, then its provisioning and the dashboard directory are mounted from the repository', () => {
    const mounts = bindMounts('grafana');
    expect(mounts.get('/etc/grafana/provisioning/datasources')).toBe(path.dirname(DATASOURCES_FILE));
    expect(mounts.get('/etc/grafana/provisioning/dashboards')).toBe(path.dirname(DASHBOARD_PROVIDERS_FILE));
    expect(dashboardProviders.map((provider) => mounts.get(provider.options.path))).toEqual([
      path.dirname(DASHBOARD_FILE),
    ]);
    expect([...mounts.values()].filter((source) => !existsSync(path.join(root, source)))).toEqual([]);
  });

  it('when Grafana queries Prometheus, then the datasource points at the compose service and its port', () => {
    const urls = datasources.map((datasource) => new URL(datasource.url));
    expect(urls.map((url) => url.host)).toEqual(['prometheus:9090']);
    // Published on this machine only, 10000 above the local path's ports (issue 15); the container listens on 9090.
    expect(service('prometheus').ports).toEqual(['127.0.0.1:19090:9090']);
  });

  it('when pulling images, then each is pinned to a version', () => {
    const images = Object.values(services).flatMap((s) => (s.image === undefined ? [] : [s.image]));
    expect(images.filter((image) => !/:[\w.-]+$/.test(image) || image.endsWith(':latest'))).toEqual([]);
  });
});
