import { execFileSync } from 'node:child_process';
import path from 'node:path';

import { provisionInfrastructure, type Infrastructure } from './infrastructure';

declare global {
  // Jest runs global set-up and tear-down in one process; this is how the one hands its handle to the other.
  var cardsTestInfrastructure: Infrastructure | undefined;
}

/** Jest global set-up of the integration project: provisions PostgreSQL and Kafka once for every test file. */
export default async function globalSetup(): Promise<void> {
  // Tests start services as real processes from their compiled entry points; an incremental build keeps them
  // current (seconds when nothing changed).
  const root = path.resolve(__dirname, '../../..');
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-b', 'tsconfig.build.json'], {
    cwd: root,
    stdio: 'inherit',
  });
  // The operator console's script is bundled apart from tsc (scripts/build-console.mjs); the browser tests load it.
  execFileSync(process.execPath, [path.join(root, 'scripts/build-console.mjs')], {
    cwd: root,
    stdio: 'inherit',
  });
  const infrastructure = await provisionInfrastructure();
  globalThis.cardsTestInfrastructure = infrastructure;
  // Workers start after this and inherit the environment, so test files read one way whatever path ran.
  process.env['TEST_DATABASE_URL'] = infrastructure.databaseUrl;
  process.env['TEST_KAFKA_BROKERS'] = infrastructure.kafkaBrokers.join(',');
  process.stderr.write(
    `\nintegration infrastructure: database from ${infrastructure.source.database}; ` +
      `kafka from ${infrastructure.source.kafka}\n`,
  );
}
