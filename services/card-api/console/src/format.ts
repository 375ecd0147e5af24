/** Formatting of times and values; every time is shown in UTC, as the server and logs use it. */

/**
 * `2026-11-28 05:12:03 UTC` inside a <time> element's text; with `milliseconds`, `05:12:03.042 UTC` — a saga's
 * steps are milliseconds apart, and whole seconds would show them all at once.
 */
export function formatTime(iso: string | null | undefined, options: { milliseconds?: boolean } = {}): string {
  if (!iso) {
    return '—';
  }
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) {
    return iso;
  }
  return `${date
    .toISOString()
    .slice(0, options.milliseconds ? 23 : 19)
    .replace('T', ' ')} UTC`;
}

/** A duration in seconds as `1 h 2 min 3 s`. */
export function formatAge(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) {
    return '—';
  }
  const whole = Math.max(0, Math.round(seconds));
  const hours = Math.floor(whole / 3600);
  const minutes = Math.floor((whole % 3600) / 60);
  const rest = whole % 60;
  const parts: string[] = [];
  if (hours > 0) {
    parts.push(`${hours} h`);
  }
  if (minutes > 0) {
    parts.push(`${minutes} min`);
  }
  if (rest > 0 || parts.length === 0) {
    parts.push(`${rest} s`);
  }
  return parts.join(' ');
}

/** A value of unknown shape (an audit target or details) as compact text. */
export function formatValue(value: unknown): string {
  if (value === null || value === undefined) {
    return '—';
  }
  if (typeof value === 'string') {
    return value;
  }
  if (typeof value === 'number' || typeof value === 'boolean') {
    return String(value);
  }
  return JSON.stringify(value);
}

/** A `datetime-local` value, read as UTC (the console shows UTC everywhere), as ISO 8601; '' stays undefined. */
export function utcInputToIso(value: string): string | undefined {
  if (!value) {
    return undefined;
  }
  const date = new Date(`${value}Z`);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

/** An object's fields one per line (`key: value`), for audit details; anything else as formatValue gives it. */
export function formatFields(value: unknown): string {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return formatValue(value);
  }
  const entries = Object.entries(value as Record<string, unknown>);
  return entries.length === 0
    ? '—'
    : entries.map(([key, field]) => `${key}: ${formatValue(field)}`).join('\n');
}
