import { provisionInfrastructure, type Infrastructure } from './infrastructure';

declare global {
  // Jest runs global set-up and tear-down in one process; this is how the one hands its handle to the other.
  var cardsTestInfrastructure: Infrastructure | undefined;
}

/** Jest global set-up of the integration project: provisions PostgreSQL and Kafka once for every test file. */
export default async function globalSetup(): Promise<void> {
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
