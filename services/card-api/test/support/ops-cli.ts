import { execFile } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../../../..');
const CLI = path.join(ROOT, 'services/card-api/dist/main-ops.js');

/** What one run of the operator CLI did. */
export interface OpsRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the compiled operator CLI (the integration global set-up builds it) against `databaseUrl`. */
export function runOps(args: readonly string[], databaseUrl: string): Promise<OpsRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { cwd: ROOT, env: { ...process.env, DATABASE_URL: databaseUrl, LOG_LEVEL: 'silent' } },
      (error, stdout, stderr) => {
        resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}
