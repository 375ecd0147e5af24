import { PipelineStatusSchema, ProblemSchema } from '@cards/contracts';

import { startCardApi, type CardApiHarness } from '../support/card-api';

describe('the admin routes when Kafka cannot be reached', () => {
  let harness: CardApiHarness;

  beforeAll(async () => {
    // Nothing listens on port 1: every connection is refused at once.
    harness = await startCardApi('admin-pipeline-kafka-down', {
      KAFKA_BROKERS: '127.0.0.1:1',
      ADMIN_KAFKA_TIMEOUT_MS: '2000',
    });
  });

  afterAll(() => harness.stop());

  it('when the pipeline is asked for, then it is 200 with Kafka unavailable and why, and the outbox figures still there', async () => {
    const started = Date.now();

    const response = await harness.request('/v1/admin/pipeline', { token: harness.adminToken });

    expect(response.status).toBe(200);
    const { checkedAt, kafka, ...rest } = PipelineStatusSchema.parse(await response.json());
    expect(rest).toEqual({
      outbox: { backlog: 0, oldestAgeSeconds: null, failingRows: 0, quarantinedRows: 0, quarantined: [] },
      // The database's view of the relay does not need Kafka.
      relay: { holder: null },
      consumers: [],
      deadLetters: [],
    });
    expect(kafka.available).toBe(false);
    expect(kafka.error).toMatch(/\S/);
    expect(Number.isNaN(Date.parse(checkedAt))).toBe(false);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('when the dead letters are asked for, then it is 503 SERVICE_UNAVAILABLE', async () => {
    const response = await harness.request(
      `/v1/admin/dead-letters?topic=${harness.config.TOPIC_PROVISIONING_RESULTS}`,
      { token: harness.adminToken },
    );

    expect(response.status).toBe(503);
    expect(ProblemSchema.parse(await response.json()).code).toBe('SERVICE_UNAVAILABLE');
  });
});
