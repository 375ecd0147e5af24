import { z } from 'zod';

import { ConfigError, env, parseEnv } from './config';

const schema = z.object({
  PORT: env.int(3000, { min: 0, max: 65_535 }),
  BROKERS: env.list('127.0.0.1:9092'),
  DATABASE_URL: env.url('postgres://localhost/db', ['postgres', 'postgresql']),
  VERBOSE: env.boolean(false),
});

describe('parseEnv', () => {
  it('when nothing is set, then every default applies', () => {
    expect(parseEnv(schema, {})).toEqual({
      PORT: 3000,
      BROKERS: ['127.0.0.1:9092'],
      DATABASE_URL: 'postgres://localhost/db',
      VERBOSE: false,
    });
  });

  it('when values are set, then they are parsed to their types', () => {
    const config = parseEnv(schema, { PORT: '8080', BROKERS: 'a:1, b:2,', VERBOSE: 'true' });
    expect(config.PORT).toBe(8080);
    expect(config.BROKERS).toEqual(['a:1', 'b:2']);
    expect(config.VERBOSE).toBe(true);
  });

  it('when values are bad, then the error names each variable and the value it got', () => {
    const attempt = () => parseEnv(schema, { PORT: 'eighty', DATABASE_URL: 'mysql://x', VERBOSE: 'maybe' });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow('PORT: must be a number (got "eighty")');
    expect(attempt).toThrow('DATABASE_URL: must be a URL starting with postgres:// or postgresql://');
    expect(attempt).toThrow('VERBOSE: must be true or false (got "maybe")');
  });

  it('when a number is out of bounds, then it is refused, saying the bound', () => {
    expect(() => parseEnv(schema, { PORT: '70000' })).toThrow('PORT: must be at most 65535 (got "70000")');
  });

  it('when a secret or a URL with a password is rejected, then the error does not echo the secret or the password', () => {
    const withSecret = z.object({ JWT_SECRET: z.string().min(32), DATABASE_URL: schema.shape.DATABASE_URL });
    const attempt = () =>
      parseEnv(withSecret, {
        JWT_SECRET: 'too-short-but-secret',
        DATABASE_URL: 'mysql://app:hunter2@db/cards',
      });
    expect(attempt).toThrow(/JWT_SECRET/);
    expect(attempt).toThrow(/DATABASE_URL: .*\(got "mysql:\/\/app:\[redacted\]@db\/cards"\)/);
    expect(attempt).not.toThrow(/too-short-but-secret|hunter2/);
  });
});
