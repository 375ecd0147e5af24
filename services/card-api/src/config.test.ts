import { ConfigError } from '@cards/platform';

import { loadConfig } from './config';

describe('card-api config', () => {
  it('when the environment is empty, then the defaults suit a developer machine', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      HTTP_PORT: 3000,
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/cards',
      KAFKA_BROKERS: ['127.0.0.1:9092'],
      KAFKA_TOPIC_PARTITIONS: 6,
    });
  });

  it('when a value is bad, then start-up fails naming the variable', () => {
    expect(() => loadConfig({ HTTP_PORT: '-1' })).toThrow(ConfigError);
    expect(() => loadConfig({ HTTP_PORT: '-1' })).toThrow(/HTTP_PORT/);
    expect(() => loadConfig({ DATABASE_URL: 'localhost:5432' })).toThrow(/DATABASE_URL/);
    expect(() => loadConfig({ KAFKA_BROKERS: ' , ' })).toThrow(/KAFKA_BROKERS: must name at least one item/);
  });
});
