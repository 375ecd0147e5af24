import { ConfigError } from '@cards/runtime';

import { loadConfig } from './config';

describe('provider-worker config', () => {
  it('when the environment is empty, then the defaults suit a developer machine', () => {
    expect(loadConfig({})).toMatchObject({
      HTTP_PORT: 3101,
      KAFKA_BROKERS: ['127.0.0.1:9092'],
      KAFKA_GROUP_ID: 'provider-worker',
      KAFKA_MAX_WAIT_MS: 100,
      TOPIC_PROVISIONING_COMMANDS: 'cards.provisioning.commands.v1',
      TOPIC_PROVISIONING_RESULTS: 'cards.provisioning.results.v1',
      PROVIDER_URL: 'http://127.0.0.1:3200',
      PROVIDER_TIMEOUT_MS: 3000,
      PROVIDER_MAX_ATTEMPTS: 5,
      PROVIDER_RETRY_BASE_MS: 200,
      PROVIDER_RETRY_MAX_DELAY_MS: 5000,
      PROVIDER_RETRY_BUDGET_MS: 30_000,
      PROVIDER_BREAKER_FAILURE_RATE: 0.5,
      PROVIDER_BREAKER_WINDOW_MS: 30_000,
      PROVIDER_BREAKER_MIN_CALLS: 5,
      PROVIDER_BREAKER_HALF_OPEN_AFTER_MS: 5000,
      KAFKA_PARTITION_CONCURRENCY: 10,
      KAFKA_COMMIT_INTERVAL_MS: 100,
      RESULTS_PUBLISH_LINGER_MS: 10,
    });
  });

  it('when a value is bad, then start-up fails naming the variable', () => {
    expect(() => loadConfig({ PROVIDER_URL: 'localhost:3200' })).toThrow(ConfigError);
    expect(() => loadConfig({ PROVIDER_URL: 'localhost:3200' })).toThrow(/PROVIDER_URL/);
    expect(() => loadConfig({ PROVIDER_MAX_ATTEMPTS: '0' })).toThrow(/PROVIDER_MAX_ATTEMPTS/);
    expect(() => loadConfig({ PROVIDER_TIMEOUT_MS: 'soon' })).toThrow(
      /PROVIDER_TIMEOUT_MS: must be a number/,
    );
    expect(() => loadConfig({ PROVIDER_RETRY_BUDGET_MS: '0' })).toThrow(/PROVIDER_RETRY_BUDGET_MS/);
    expect(() => loadConfig({ PROVIDER_BREAKER_FAILURE_RATE: '1.5' })).toThrow(
      /PROVIDER_BREAKER_FAILURE_RATE/,
    );
    expect(() => loadConfig({ PROVIDER_BREAKER_MIN_CALLS: '0' })).toThrow(/PROVIDER_BREAKER_MIN_CALLS/);
    expect(() => loadConfig({ PROVIDER_BREAKER_HALF_OPEN_AFTER_MS: 'later' })).toThrow(
      /PROVIDER_BREAKER_HALF_OPEN_AFTER_MS/,
    );
    expect(() => loadConfig({ KAFKA_PARTITION_CONCURRENCY: '0' })).toThrow(/KAFKA_PARTITION_CONCURRENCY/);
  });

  it('when the first backoff delay exceeds the cap, then start-up fails naming it', () => {
    expect(() =>
      loadConfig({ PROVIDER_RETRY_BASE_MS: '10000', PROVIDER_RETRY_MAX_DELAY_MS: '5000' }),
    ).toThrow(/PROVIDER_RETRY_BASE_MS: must not exceed PROVIDER_RETRY_MAX_DELAY_MS/);
  });
});
