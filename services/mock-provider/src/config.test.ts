import { ConfigError } from '@cards/runtime';

import { loadConfig } from './config';

describe('mock-provider config', () => {
  it('when the environment is empty, then the defaults suit a developer machine and inject no fault', () => {
    expect(loadConfig({})).toMatchObject({
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: 3200,
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/cards',
      PROVIDER_DB_SCHEMA: 'mock_provider',
      PROVIDER_LATENCY_MS: 0,
      PROVIDER_ERROR_RATE: 0,
      PROVIDER_REJECT_RATE: 0,
      PROVIDER_HANG_RATE: 0,
      PROVIDER_HANG_MS: 30_000,
      PROVIDER_MALFORMED_RATE: 0,
      PROVIDER_OUTAGE: false,
    });
  });

  it('when fault variables are set, then rates keep their fractions and the outage flag is read', () => {
    expect(
      loadConfig({ PROVIDER_ERROR_RATE: '0.25', PROVIDER_OUTAGE: 'true', PROVIDER_LATENCY_MS: '150' }),
    ).toMatchObject({ PROVIDER_ERROR_RATE: 0.25, PROVIDER_OUTAGE: true, PROVIDER_LATENCY_MS: 150 });
  });

  it('when a value is bad, then start-up fails naming the variable', () => {
    expect(() => loadConfig({ PROVIDER_ERROR_RATE: '1.5' })).toThrow(ConfigError);
    expect(() => loadConfig({ PROVIDER_ERROR_RATE: '1.5' })).toThrow(/PROVIDER_ERROR_RATE/);
    expect(() => loadConfig({ PROVIDER_HANG_RATE: 'often' })).toThrow(/PROVIDER_HANG_RATE: must be a number/);
    expect(() => loadConfig({ PROVIDER_OUTAGE: 'maybe' })).toThrow(/PROVIDER_OUTAGE/);
    expect(() => loadConfig({ PROVIDER_LATENCY_MS: '-1' })).toThrow(/PROVIDER_LATENCY_MS/);
    expect(() => loadConfig({ PROVIDER_DB_SCHEMA: 'Drop Table' })).toThrow(/PROVIDER_DB_SCHEMA/);
    expect(() => loadConfig({ DATABASE_URL: 'localhost:5432' })).toThrow(/DATABASE_URL/);
  });
});
