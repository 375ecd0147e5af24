import { execFileSync } from 'node:child_process';
import path from 'node:path';

import {
  createLogger,
  isRedactedKey,
  maskUrlCredentials,
  redactForLog,
  type DestinationStream,
  type Logger,
} from './logger';

/** A logger writing into memory at the most verbose level, and what it wrote. */
function capturedLogger(): { logger: Logger; output: () => string; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const destination: DestinationStream = {
    write: (chunk: string) => {
      chunks.push(chunk);
    },
  };
  const logger = createLogger({ service: 'logger-test', level: 'trace', destination });
  const output = () => chunks.join('');
  return {
    logger,
    output,
    lines: () =>
      output()
        .split('\n')
        .filter((line) => line.length > 0)
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

/** A value that cannot appear in a log line by chance. */
const secretValue = (name: string) => `SECRET-${name}-7f3a9c`;

/** Listed here, not taken from logger.ts: a key dropped from the logger's list must make a test fail. */
const CREDENTIAL_KEYS = [
  'authorization',
  'Authorization',
  'token',
  'accessToken',
  'access_token',
  'idToken',
  'refreshToken',
  'refresh_token',
  'password',
  'secret',
  'clientSecret',
  'JWT_SECRET',
  'apiKey',
  'x-api-key',
  'cookie',
  'set-cookie',
];
const CARD_DATA_KEYS = ['pan', 'PAN', 'cvv', 'CVV', 'cvc', 'cvv2', 'cardNumber', 'card_number'];
const SENSITIVE_KEYS = [...CREDENTIAL_KEYS, ...CARD_DATA_KEYS];

/** The key at the top of the logged object, one level down and two levels down. */
const PLACEMENTS: { depth: string; wrap: (key: string, value: string) => Record<string, unknown> }[] = [
  { depth: 'at the top level', wrap: (key, value) => ({ [key]: value, cardId: 'neighbour-0' }) },
  {
    depth: 'one level deep',
    wrap: (key, value) => ({ outer: { [key]: value, cardId: 'neighbour-1' } }),
  },
  {
    depth: 'two levels deep',
    wrap: (key, value) => ({ outer: { inner: { [key]: value, cardId: 'neighbour-2' } } }),
  },
];

describe('createLogger redaction', () => {
  describe.each(PLACEMENTS)('when a sensitive key is logged $depth', ({ wrap }) => {
    it.each(SENSITIVE_KEYS)('then the value of %s is replaced and its neighbours are kept', (key) => {
      const { logger, output } = capturedLogger();
      const value = secretValue(key);

      logger.info(wrap(key, value), 'something happened');

      expect(output()).not.toContain(value);
      expect(output()).toContain('[redacted]');
      expect(output()).toMatch(/"cardId":"neighbour-\d"/);
      expect(output()).toContain('something happened');
    });
  });

  it.each([
    'DB_PASSWORD',
    'userPasswd',
    'webhookSecret',
    'csrfToken',
    'sessionCookie',
    'providerApiKey',
    'upstreamAuthorization',
    'fullCardNumber',
    'primaryAccountNumber',
  ])('when a key ends in a sensitive word (%s), then its value is replaced too', (key) => {
    const { logger, output } = capturedLogger();

    logger.info({ settings: { [key]: secretValue(key), region: 'eu-west-1' } });

    expect(output()).not.toContain(secretValue(key));
    expect(output()).toContain('eu-west-1');
  });

  it('when a request is logged in the shapes request serializers produce, then no Authorization header survives', () => {
    const { logger, output } = capturedLogger();
    const bearer = `Bearer ${secretValue('jwt')}`;

    logger.info({
      req: { method: 'POST', url: '/v1/cards', headers: { authorization: bearer, host: 'api' } },
    });
    logger.info({ headers: { authorization: bearer, 'content-type': 'application/json' } });
    logger.info({ authorization: bearer, requestId: 'req-1' });
    logger.info({ headers: { Authorization: bearer, 'x-request-id': 'req-2' } });
    // Three levels down, as an HTTP client's error carries the request it sent.
    logger.info({ err: { request: { headers: { authorization: bearer } } }, requestId: 'req-3' });

    expect(output()).not.toContain(secretValue('jwt'));
    for (const neighbour of ['/v1/cards', '"host":"api"', 'application/json', 'req-1', 'req-2', 'req-3']) {
      expect(output()).toContain(neighbour);
    }
  });

  it('when a config object is logged, then secrets are replaced and DATABASE_URL keeps all but its password', () => {
    const { logger, lines, output } = capturedLogger();
    const config = {
      HTTP_PORT: 3000,
      JWT_SECRET: secretValue('jwt-secret'),
      JWT_ISSUER: 'card-issuing-dev',
      DATABASE_URL: `postgres://cards_app:${secretValue('db-password')}@db.internal:5432/cards`,
      KAFKA_SASL_PASSWORD: secretValue('sasl'),
    };

    logger.info({ config }, 'effective configuration');

    expect(output()).not.toContain(secretValue('jwt-secret'));
    expect(output()).not.toContain(secretValue('db-password'));
    expect(output()).not.toContain(secretValue('sasl'));
    expect(lines()[0]?.['config']).toEqual({
      HTTP_PORT: 3000,
      JWT_SECRET: '[redacted]',
      JWT_ISSUER: 'card-issuing-dev',
      DATABASE_URL: 'postgres://cards_app:[redacted]@db.internal:5432/cards',
      KAFKA_SASL_PASSWORD: '[redacted]',
    });
  });

  it('when card data is logged beside a card, then last4 and expiry are kept and the card number and CVV are not', () => {
    const { logger, lines, output } = capturedLogger();

    logger.info({
      card: { id: 'card-1', last4: '1111', expMonth: 12, expYear: 2029, pan: '4111111111111111', cvv: '123' },
      provider: { answer: { card: { cardNumber: '5555555555554444', card_number: '4012888888881881' } } },
    });

    expect(output()).not.toMatch(/4111111111111111|5555555555554444|4012888888881881/);
    expect(output()).not.toContain('"123"');
    expect(lines()[0]?.['card']).toEqual({
      id: 'card-1',
      last4: '1111',
      expMonth: 12,
      expYear: 2029,
      pan: '[redacted]',
      cvv: '[redacted]',
    });
  });

  it('when a child logger is bound to a sensitive value, then its lines carry the value redacted', () => {
    const { logger, output } = capturedLogger();
    const bindings = Object.fromEntries(SENSITIVE_KEYS.map((key) => [key, secretValue(`child-${key}`)]));

    logger.child({ ...bindings, cardId: 'card-in-binding' }).info('bound');

    for (const key of SENSITIVE_KEYS) {
      expect(output()).not.toContain(secretValue(`child-${key}`));
    }
    expect(output()).toContain('card-in-binding');
  });

  it('when an error carries a secret in its message or properties, then it is logged with type and stack but not the secret', () => {
    const { logger, lines, output } = capturedLogger();
    const error = Object.assign(
      new TypeError(`cannot reach postgres://app:${secretValue('err-password')}@db/cards`),
      { code: 'ECONNREFUSED', request: { headers: { authorization: `Bearer ${secretValue('err-token')}` } } },
    );

    logger.error({ err: error, cardId: 'card-err' }, 'database unreachable');
    logger.error(error);

    expect(output()).not.toContain(secretValue('err-password'));
    expect(output()).not.toContain(secretValue('err-token'));
    for (const line of lines()) {
      expect(line['err']).toMatchObject({
        type: 'TypeError',
        message: 'cannot reach postgres://app:[redacted]@db/cards',
        code: 'ECONNREFUSED',
        stack: expect.stringContaining('TypeError') as unknown,
      });
    }
  });

  it('when a message string names a URL with a password, then the password is masked', () => {
    const { logger, output } = capturedLogger();

    logger.warn(`connecting to postgres://app:${secretValue('msg')}@db:5432/cards`);
    logger.warn('retrying %s', `amqp://user:${secretValue('arg')}@broker`);

    expect(output()).not.toContain(secretValue('msg'));
    expect(output()).not.toContain(secretValue('arg'));
    expect(output()).toContain('postgres://app:[redacted]@db:5432/cards');
  });

  it('when an object is logged, then the caller’s object is left unchanged', () => {
    const { logger } = capturedLogger();
    const object = { headers: { authorization: 'Bearer kept-for-the-caller' } };

    logger.info(object);

    expect(object.headers.authorization).toBe('Bearer kept-for-the-caller');
  });

  it('when an object refers to itself, then it is logged without looping', () => {
    const { logger, output } = capturedLogger();
    const object: Record<string, unknown> = { cardId: 'card-cycle', token: secretValue('cycle') };
    object['self'] = object;

    logger.info({ object });

    expect(output()).toContain('card-cycle');
    expect(output()).toContain('[Circular]');
    expect(output()).not.toContain(secretValue('cycle'));
  });
});

describe('createLogger writing to standard output', () => {
  it('when a process logs many lines and exits at once, then the asynchronous writes are flushed to the last line', () => {
    // A child process, as a service is: its stdout is a pipe, and it calls process.exit as runMain does.
    const script = [
      `const { createLogger } = require(${JSON.stringify(path.join(__dirname, 'logger.ts'))});`,
      "const logger = createLogger({ service: 'flush-test', level: 'info' });",
      "for (let i = 0; i < 5000; i++) logger.info({ i, filler: 'x'.repeat(200) }, 'line');",
      "logger.info('stopped');",
      'process.exit(0);',
    ].join('\n');

    const output = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', maxBuffer: 64 << 20 });

    const lines = output.split('\n').filter((line) => line.length > 0);
    expect(lines).toHaveLength(5001);
    expect(JSON.parse(lines.at(-1) ?? '{}')).toMatchObject({ service: 'flush-test', msg: 'stopped' });
  });
});

describe('isRedactedKey', () => {
  it('when a key is asked about again, then the remembered verdict is the same as the first', () => {
    for (const key of ['DB_PASSWORD', 'timespan', 'pan', 'region', 'x-api-key', 'Authorization']) {
      expect(isRedactedKey(key)).toBe(isRedactedKey(key));
    }
    expect([isRedactedKey('DB_PASSWORD'), isRedactedKey('timespan'), isRedactedKey('region')]).toEqual([
      true,
      false,
      false,
    ]);
  });

  it('when more keys are seen than are remembered, then verdicts stay right', () => {
    for (let index = 0; index < 5000; index++) {
      expect(isRedactedKey(`field${index}`)).toBe(false);
      expect(isRedactedKey(`field${index}Secret`)).toBe(true);
    }
    expect(isRedactedKey('cardNumber')).toBe(true);
  });
});

describe('maskUrlCredentials', () => {
  it.each([
    ['postgres://app:pw@db:5432/cards', 'postgres://app:[redacted]@db:5432/cards'],
    ['postgres://:pw@db/cards', 'postgres://:[redacted]@db/cards'],
    [
      'see postgresql://a:b@h/x and redis://c:d@r:6379',
      'see postgresql://a:[redacted]@h/x and redis://c:[redacted]@r:6379',
    ],
  ])('when %s is masked, then only its password is replaced', (input, expected) => {
    expect(maskUrlCredentials(input)).toBe(expected);
  });

  it.each([
    'postgres://postgres@127.0.0.1:5432/cards',
    'http://127.0.0.1:3000/v1/cards?x=a:b@c',
    'user@example.com',
  ])('when %s holds no password, then it is left as it is', (input) => {
    expect(maskUrlCredentials(input)).toBe(input);
  });
});

describe('redactForLog', () => {
  it('when a value is nested deeper than a log line should go, then the depth is cut rather than walked', () => {
    let deep: Record<string, unknown> = { token: secretValue('deep') };
    for (let level = 0; level < 20; level++) {
      deep = { level: deep };
    }

    expect(JSON.stringify(redactForLog(deep))).not.toContain(secretValue('deep'));
  });
});
