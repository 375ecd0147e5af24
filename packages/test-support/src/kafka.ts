import { randomBytes } from 'node:crypto';

/** The brokers global set-up provisioned. */
export function testKafkaBrokers(): string[] {
  const brokers = process.env['TEST_KAFKA_BROKERS'];
  if (!brokers) {
    throw new Error(
      'TEST_KAFKA_BROKERS is not set: run integration tests through the jest integration project',
    );
  }
  return brokers.split(',');
}

/** A unique suffix for one test file's topics and consumer groups, so files never read each other's messages. */
export function uniqueSuffix(): string {
  return `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}
