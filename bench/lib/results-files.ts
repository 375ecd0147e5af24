import { readdirSync } from 'node:fs';
import path from 'node:path';

import * as prettier from 'prettier';

import { ROOT } from './processes.ts';

/** Full runs, committed: bench/results/<YYYY-MM-DD>.json and .md. */
export const RESULTS_DIR = path.join(ROOT, 'bench', 'results');
/** Quick runs (CI, development): under .run/, never committed. */
export const QUICK_RESULTS_DIR = path.join(ROOT, '.run', 'bench');

/** The newest full run's JSON file. */
export function latestResultsFile(): string {
  const files = readdirSync(RESULTS_DIR)
    .filter((name) => /^\d{4}-\d{2}-\d{2}\.json$/.test(name))
    .sort();
  const latest = files.at(-1);
  if (!latest) {
    throw new Error(`no full run in ${RESULTS_DIR}: run make bench first`);
  }
  return path.join(RESULTS_DIR, latest);
}

/** Formats generated JSON or markdown as `prettier --check .` expects (the repository's lint). */
export async function formatted(text: string, filePath: string): Promise<string> {
  const options = (await prettier.resolveConfig(filePath)) ?? {};
  return prettier.format(text, { ...options, filepath: filePath });
}
