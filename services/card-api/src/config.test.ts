import { ConfigError } from '@cards/runtime';

import { DEVELOPMENT_JWT_SECRET, loadConfig } from './config';

describe('card-api config', () => {
  it('when the environment is empty, then the defaults suit a developer machine', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      HTTP_PORT: 3000,
      OUTBOX_RELAY_HTTP_PORT: 3001,
      CARD_EVENTS_HTTP_PORT: 3002,
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/cards',
      KAFKA_BROKERS: ['127.0.0.1:9092'],
      KAFKA_TOPIC_PARTITIONS: 6,
      KAFKA_TOPIC_REPLICATION_FACTOR: 1,
      KAFKA_TOPIC_MIN_INSYNC_REPLICAS: 1,
    });
  });

  it('when min.insync.replicas exceeds the replicas, then start-up fails, since every write would be refused', () => {
    expect(() =>
      loadConfig({ KAFKA_TOPIC_REPLICATION_FACTOR: '3', KAFKA_TOPIC_MIN_INSYNC_REPLICAS: '2' }),
    ).not.toThrow();
    expect(() =>
      loadConfig({ KAFKA_TOPIC_REPLICATION_FACTOR: '1', KAFKA_TOPIC_MIN_INSYNC_REPLICAS: '2' }),
    ).toThrow(/KAFKA_TOPIC_MIN_INSYNC_REPLICAS: must not exceed KAFKA_TOPIC_REPLICATION_FACTOR/);
  });

  it('when a value is bad, then start-up fails naming the variable', () => {
    expect(() => loadConfig({ HTTP_PORT: '-1' })).toThrow(ConfigError);
    expect(() => loadConfig({ HTTP_PORT: '-1' })).toThrow(/HTTP_PORT/);
    expect(() => loadConfig({ DATABASE_URL: 'localhost:5432' })).toThrow(/DATABASE_URL/);
    expect(() => loadConfig({ KAFKA_BROKERS: ' , ' })).toThrow(/KAFKA_BROKERS: must name at least one item/);
  });
});

describe('card-api config in production', () => {
  const production = {
    NODE_ENV: 'production',
    JWT_JWKS_URL: 'https://idp.example.com/.well-known/jwks.json',
    JWT_ISSUER: 'https://idp.example.com/',
    JWT_AUDIENCE: 'card-api',
  };

  it('when issuer, audience and a key set are given, then it starts', () => {
    expect(loadConfig(production)).toMatchObject({ JWT_JWKS_URL: production.JWT_JWKS_URL });
  });

  it('when it would verify tokens with the published development secret, then it refuses to start', () => {
    const { JWT_JWKS_URL: _unused, ...withoutKeySet } = production;
    expect(() => loadConfig(withoutKeySet)).toThrow(/JWT_SECRET: the development secret is refused/);
    expect(() => loadConfig({ ...withoutKeySet, JWT_SECRET: DEVELOPMENT_JWT_SECRET })).toThrow(ConfigError);
    expect(
      loadConfig({ ...withoutKeySet, JWT_SECRET: 'a-secret-of-our-own-that-is-long-enough' }),
    ).toBeDefined();
  });

  it('when the issuer or the audience is left to its default, then it refuses to start naming each', () => {
    expect(() => loadConfig({ ...production, JWT_ISSUER: undefined })).toThrow(
      /JWT_ISSUER: must be set explicitly/,
    );
    expect(() => loadConfig({ ...production, JWT_AUDIENCE: undefined })).toThrow(
      /JWT_AUDIENCE: must be set explicitly/,
    );
  });

  it('when the key set is fetched over plain http, then it refuses to start', () => {
    expect(() => loadConfig({ ...production, JWT_JWKS_URL: 'http://idp.example.com/jwks' })).toThrow(
      /JWT_JWKS_URL: must be https in production/,
    );
  });

  it('when not in production, then the development defaults are allowed', () => {
    expect(loadConfig({ NODE_ENV: 'development' }).JWT_SECRET).toBe(DEVELOPMENT_JWT_SECRET);
  });
});

describe('card-api security settings', () => {
  it('when the key-set algorithms include a symmetric one or none, then start-up fails', () => {
    expect(() => loadConfig({ JWT_ALGORITHMS: 'RS256,HS256' })).toThrow(/JWT_ALGORITHMS/);
    expect(() => loadConfig({ JWT_ALGORITHMS: 'none' })).toThrow(/JWT_ALGORITHMS/);
    expect(loadConfig({ JWT_ALGORITHMS: 'ES256, EdDSA' }).JWT_ALGORITHMS).toEqual(['ES256', 'EdDSA']);
  });

  it('when CORS origins are absent, then none are allowed; when given, each must be an origin URL', () => {
    expect(loadConfig({}).CORS_ALLOWED_ORIGINS).toEqual([]);
    expect(
      loadConfig({ CORS_ALLOWED_ORIGINS: 'https://a.example, http://localhost:5173' }).CORS_ALLOWED_ORIGINS,
    ).toEqual(['https://a.example', 'http://localhost:5173']);
    expect(() => loadConfig({ CORS_ALLOWED_ORIGINS: '*' })).toThrow(/CORS_ALLOWED_ORIGINS/);
  });

  it('when the header timeout exceeds the request timeout, then start-up fails', () => {
    expect(() => loadConfig({ HTTP_HEADERS_TIMEOUT_MS: '20000', HTTP_REQUEST_TIMEOUT_MS: '10000' })).toThrow(
      /HTTP_HEADERS_TIMEOUT_MS: must not exceed HTTP_REQUEST_TIMEOUT_MS/,
    );
  });

  it('when the reconciliation window does not outlast the outbox retention, then start-up fails', () => {
    expect(loadConfig({}).RECONCILIATION_WINDOW_HOURS).toBeGreaterThan(loadConfig({}).OUTBOX_RETENTION_HOURS);
    expect(() => loadConfig({ RECONCILIATION_WINDOW_HOURS: '24', OUTBOX_RETENTION_HOURS: '24' })).toThrow(
      /RECONCILIATION_WINDOW_HOURS: must exceed OUTBOX_RETENTION_HOURS/,
    );
  });

  it('when published outbox rows would be gone before a cancel may be asked again, then start-up fails', () => {
    expect(() =>
      loadConfig({
        RECONCILIATION_WINDOW_HOURS: '3',
        OUTBOX_RETENTION_HOURS: '1',
        RECONCILIATION_RECANCEL_AFTER_MINUTES: '90',
      }),
    ).toThrow(/OUTBOX_RETENTION_HOURS: must be at least RECONCILIATION_RECANCEL_AFTER_MINUTES/);
    expect(
      loadConfig({ RECONCILIATION_WINDOW_HOURS: '2', OUTBOX_RETENTION_HOURS: '1' })
        .RECONCILIATION_RECANCEL_AFTER_MINUTES,
    ).toBe(30);
  });
});
