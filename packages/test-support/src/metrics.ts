/** One sample of a scrape: a series (name and labels) and its value. */
export interface MetricSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A parsed Prometheus text exposition: every sample, and each metric family's declared type. */
export interface Exposition {
  samples: MetricSample[];
  /** Family name → counter, gauge, histogram, summary or untyped. */
  types: Map<string, string>;
}

const SAMPLE = /^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\S+)?$/;
const LABEL = /\s*([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?/gy;

function unescapeLabel(value: string): string {
  return value.replace(/\\(.)/g, (_match, char: string) => (char === 'n' ? '\n' : char));
}

/** Parses the Prometheus text format (what GET /metrics answers); throws on a line it cannot read. */
export function parseExposition(text: string): Exposition {
  const samples: MetricSample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line.trim() === '') {
      continue;
    }
    if (line.startsWith('#')) {
      const type = /^# TYPE (\S+) (\S+)$/.exec(line);
      if (type?.[1] && type[2]) {
        types.set(type[1], type[2]);
      }
      continue;
    }
    const match = SAMPLE.exec(line);
    if (!match?.[1] || match[3] === undefined) {
      throw new Error(`not a Prometheus sample line: ${line}`);
    }
    const labels: Record<string, string> = {};
    const body = match[2] ?? '';
    LABEL.lastIndex = 0;
    while (LABEL.lastIndex < body.length) {
      const label = LABEL.exec(body);
      if (!label?.[1] || label[2] === undefined) {
        throw new Error(`unreadable labels in: ${line}`);
      }
      labels[label[1]] = unescapeLabel(label[2]);
    }
    samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return { samples, types };
}

/** GET `<baseUrl>/metrics`, parsed; fails unless it answers 200 in the Prometheus text format. */
export async function scrapeMetrics(baseUrl: string): Promise<Exposition> {
  const response = await fetch(`${baseUrl}/metrics`);
  const body = await response.text();
  if (response.status !== 200 || !response.headers.get('content-type')?.startsWith('text/plain')) {
    throw new Error(`GET ${baseUrl}/metrics answered ${response.status}: ${body.slice(0, 500)}`);
  }
  return parseExposition(body);
}

/** The samples of `name` whose labels include every one of `labels`. */
export function samplesOf(
  exposition: Exposition,
  name: string,
  labels: Record<string, string> = {},
): MetricSample[] {
  return exposition.samples.filter(
    (sample) =>
      sample.name === name &&
      Object.entries(labels).every(([label, value]) => sample.labels[label] === value),
  );
}

/** The sum of the samples of `name` that carry `labels` (0 when there is none): a counter or gauge reading. */
export function metricValue(
  exposition: Exposition,
  name: string,
  labels: Record<string, string> = {},
): number {
  return samplesOf(exposition, name, labels).reduce((sum, sample) => sum + sample.value, 0);
}

/** How many observations a histogram holds for `labels` (its `_count`, summed over other labels). */
export function histogramCount(
  exposition: Exposition,
  name: string,
  labels: Record<string, string> = {},
): number {
  return metricValue(exposition, `${name}_count`, labels);
}

/** Whether the exposition declares the metric family `name` (with that type, when given). */
export function declares(exposition: Exposition, name: string, type?: string): boolean {
  const declared = exposition.types.get(name);
  return declared !== undefined && (type === undefined || declared === type);
}
