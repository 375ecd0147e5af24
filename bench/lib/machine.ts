import { readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import pg from 'pg';

import { jvmClasspath, kafkaPid } from './proc-stats.ts';
import type { MachineDescription } from './results.ts';

/** The broker's version from the kafka_<scala>-<version>.jar on its classpath; unknown when it is not local. */
function kafkaVersion(): string {
  const pid = kafkaPid();
  const classpath = pid === undefined ? undefined : jvmClasspath(pid);
  if (!classpath) {
    return 'unknown (no local broker process)';
  }
  for (const entry of classpath.split(':')) {
    const folder = entry.endsWith('*') ? path.dirname(entry) : undefined;
    try {
      const names = folder ? readdirSync(folder) : [path.basename(entry)];
      const jar = names.map((name) => /^kafka_[\d.]+-([\w.-]+)\.jar$/.exec(name)).find(Boolean);
      if (jar?.[1]) {
        return jar[1];
      }
    } catch {
      // a classpath entry that is not there
    }
  }
  return 'unknown';
}

/** CPU, memory, OS and the versions of everything measured, read at run time. */
export async function describeMachine(databaseUrl: string): Promise<MachineDescription> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  let postgres: string;
  try {
    const result = await client.query<{ server_version: string }>(/* sql */ 'SHOW server_version');
    postgres = result.rows[0]?.server_version ?? 'unknown';
  } finally {
    await client.end();
  }
  return {
    cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
    cores: os.availableParallelism(),
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    postgres,
    kafka: kafkaVersion(),
    loadAverage: os.loadavg().map((value) => Math.round(value * 100) / 100),
  };
}
