import { randomUUID } from 'node:crypto';

import {
  CARD_COLORS,
  CardSchema,
  EventType,
  ProblemSchema,
  encodeEvent,
  type AnyCardEvent,
} from '@cards/contracts';
import fc from 'fast-check';

import { mintToken } from '../../src/entry-points/cli/dev-token';
import { buildCardRequest, startCardApi, type CardApiHarness } from '../support/card-api';

/*
 * Hostile input against every route of a real card-api (in this process, real PostgreSQL). Each exchange is
 * checked for the same promises: never a 5xx; every 4xx is problem+json whose `status` is the HTTP status; no
 * stack trace or source path in any answer; no row changes except what a 2xx promises (a 202 adds the caller's
 * card, its outbox event and its Idempotency-Key; a 201 adds the named user; a 4xx may only record its own answer
 * under the caller's Idempotency-Key); Object.prototype gains nothing; another user's cards never show.
 */

/** Tried verbatim in every string parameter: quote breaking, comments, stacked statements, knex placeholders. */
const SQL_INJECTION = [
  "' OR '1'='1",
  "' OR 1=1--",
  "'; DROP TABLE cards;--",
  '"; DROP TABLE users;--',
  '1) OR (1=1',
  "%' --",
  "\\'",
  '\\',
  '$$',
  '$$; DELETE FROM cards; $$',
  "E'\\x00'",
  "' UNION SELECT id, user_id, color, status FROM cards--",
  "1; UPDATE cards SET status = 'ACTIVE'",
  "' AND pg_sleep(3)--",
  "admin'--",
  "')) OR 1=1--",
  '*/ OR 1=1 /*',
  '?',
  '??',
  ':id',
  '$1',
  '%27%20OR%20%271%27%3D%271',
  '\u2019 OR \u20181\u2019=\u20181',
  '\u02bc OR 1=1--',
  '\uff07 OR 1=1--',
  "';--\u0000",
  "00000000-0000-4000-8000-000000000000' OR '1'='1",
  "2024-01-01T00:00:00Z' OR '1'='1",
];

/** Strings that have broken parsers before: empty, whitespace, look-alikes of other types, traversal, BOM. */
const ODD_STRINGS = [
  '',
  ' ',
  '\t',
  '\u0000',
  '\ud800',
  '\udfff',
  '\ufeff',
  '\u202e',
  '\uffff',
  '\u2028',
  'null',
  'undefined',
  'NaN',
  'true',
  '[]',
  '{}',
  '__proto__',
  'constructor',
  'prototype',
  '../../etc/passwd',
  '..%2F..%2F',
  '%00',
  '%E0',
  '0x10',
  '1e309',
  '-1',
  '9007199254740993',
];

/** Numbers as JSON text, including what JSON.parse turns into Infinity, -0, or a rounded integer. */
const NUMBER_TEXT = [
  '1e309',
  '-1e309',
  '9007199254740993',
  '-9007199254740993',
  '1e-400',
  '-0',
  '123456789012345678901234567890',
  '1E+2',
  '0.1',
  '-1',
  '0',
];

/** `limit` values: numeric look-alikes Number() accepts or rounds, and some it refuses. */
const LIMIT_TEXT = [
  '1e309',
  '-1',
  '0',
  '1',
  '100',
  '101',
  '9007199254740993',
  '1.5',
  '0x10',
  ' 5',
  '5 ',
  '',
  'Infinity',
  '-0',
  '1e2',
  '20abc',
];

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=UTF-16',
  'application/json; charset=latin1',
  'application/json; charset=utf-99',
  'application/json; charset="utf-8"; ;;',
  'application/json;;;',
  'application/merge-patch+json',
  'application/problem+json',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  '*/*',
  'application/*',
  'json',
];

const CONTENT_ENCODINGS = [
  'identity',
  'gzip',
  'deflate',
  'br',
  'zstd',
  'identity, gzip',
  'x-garbage',
  'GZIP',
];

/** Methods a client can send and Node's parser knows; anything else is refused by Node before our code runs. */
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD'];

/** Raw path pieces: broken percent-encoding, encoded slashes and dots, separators. */
const RAW_PATH_PIECES = [
  '%E0',
  '%ED%A0%80',
  '%',
  '%%',
  '%zz',
  '..%2F..%2Fadmin%2Fcards',
  '%2e%2e',
  '%2e%2e%2f%2e%2e%2fetc%2fpasswd',
  '..',
  '.',
  '%00',
  '%2F',
  'a%2Fb',
  ';',
  '%3B',
  '%20',
  '%C0%AF',
];

/** A stack frame or a source location in an answer would tell an attacker about our internals. */
const STACK_TRACE = /\n\s*at |\bat \S+ \(|\.[cm]?[jt]s:\d+|node_modules|\/work\//;

/** What Node's HTTP parser and fetch both accept in a header value: tab, printable ASCII, obs-text. */
function isSendableHeaderValue(value: string): boolean {
  return /^[\t\x20-\x7e\x80-\xff]*$/.test(value) && value.trim() === value;
}

const UNRESERVED = /^[A-Za-z0-9\-._~]$/;

/** Every byte but the unreserved characters percent-encoded: any string, lone surrogates too, fits in a URL. */
function percentEncode(text: string): string {
  return [...Buffer.from(text, 'utf8')]
    .map((byte) => {
      const char = String.fromCharCode(byte);
      return UNRESERVED.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
    })
    .join('');
}

const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((code) => String.fromCharCode(code));

/** One character of full Unicode, lone surrogates and the characters that mean something to a parser. */
const hostileChar = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  { weight: 2, arbitrary: loneSurrogate },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '\u0000',
      '\u202e',
      '\ufeff',
      '"',
      "'",
      '\\',
      '%',
      '/',
      '?',
      '#',
      '&',
      '=',
      '.',
      ' ',
    ),
  },
);

/** Any string a client might send: SQL payloads, odd strings, full Unicode, graphemes, long ones. */
const hostileString = fc.oneof(
  fc.constantFrom(...SQL_INJECTION),
  fc.constantFrom(...ODD_STRINGS),
  fc.string({ unit: hostileChar, maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.string({ unit: 'binary-ascii', minLength: 200, maxLength: 400 }),
);

/** A header value: Latin-1 strings and SQL payloads, kept to what can be sent at all (see isSendableHeaderValue). */
const hostileHeaderValue = fc
  .oneof(
    fc.constantFrom(...SQL_INJECTION, ...ODD_STRINGS),
    fc.string({
      unit: fc.integer({ min: 0x20, max: 0xff }).map((code) => String.fromCharCode(code)),
      maxLength: 60,
    }),
    fc.string({ unit: 'grapheme-ascii', minLength: 200, maxLength: 1000 }),
  )
  .filter(isSendableHeaderValue);

const numberText = fc.oneof(
  fc.constantFrom(...NUMBER_TEXT),
  fc.bigInt().map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map(String),
);

const jsonKey = fc.oneof(
  fc.constantFrom('color', 'colour', 'externalId', 'email', '__proto__', 'constructor', 'prototype', ''),
  hostileString,
);

/** Raw nesting thousands deep, still inside the default 16 kB body limit for arrays. */
const deepJson = fc
  .tuple(fc.integer({ min: 500, max: 8100 }), fc.constantFrom('array', 'object', 'color'))
  .map(([depth, shape]) => {
    switch (shape) {
      case 'array':
        return '['.repeat(depth) + ']'.repeat(depth);
      case 'object': {
        const levels = Math.min(depth, 3000);
        return '{"a":'.repeat(levels) + '1' + '}'.repeat(levels);
      }
      default:
        return `{"color":${'['.repeat(depth)}${']'.repeat(depth)}}`;
    }
  });

const duplicatedKeys = fc
  .tuple(
    fc.oneof(fc.constantFrom(...CARD_COLORS), hostileString),
    fc.oneof(fc.constantFrom(...CARD_COLORS), hostileString),
  )
  .map(([first, last]) => `{"color":${JSON.stringify(first)},"color":${JSON.stringify(last)}}`);

const prototypeKeys = fc
  .tuple(fc.constantFrom('__proto__', 'constructor', 'prototype'), fc.constantFrom(...CARD_COLORS))
  .map(
    ([key, color]) =>
      `{"${key}":{"polluted":"yes","prototype":{"polluted":"yes"},"__proto__":{"polluted":"yes"}},"color":"${color}"}`,
  );

/** Bodies for any JSON route: JSON of every shape, near-misses of a card request, raw text, bytes, oversized. */
const hostileBody: fc.Arbitrary<string | Uint8Array> = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value)),
  fc.record({ color: fc.jsonValue({ maxDepth: 2 }) }).map((value) => JSON.stringify(value)),
  fc.record({ color: hostileString }).map((value) => JSON.stringify(value)),
  fc
    .tuple(fc.constantFrom(...CARD_COLORS), jsonKey, fc.jsonValue({ maxDepth: 2 }))
    .map(([color, key, value]) => JSON.stringify({ color, [key]: value })),
  fc.dictionary(jsonKey, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }).map((value) => JSON.stringify(value)),
  numberText.map((number) => `{"color":${number}}`),
  fc.constantFrom(...CARD_COLORS).map((color) => buildCardRequest({ color })),
  duplicatedKeys,
  prototypeKeys,
  deepJson,
  fc.constantFrom(
    '',
    'null',
    '""',
    '0',
    '[]',
    '{}',
    'true',
    '{"color":"gold"',
    '{"color":"gold"}}',
    '\ufeff{}',
  ),
  fc.string({ unit: hostileChar, maxLength: 60 }),
  fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.stringify(value).slice(0, -1)),
  fc.integer({ min: 16_400, max: 40_000 }).map((length) => buildCardRequest({ padding: 'x'.repeat(length) })),
  fc.uint8Array({ maxLength: 2000 }),
);

const contentType = fc.oneof(
  { weight: 6, arbitrary: fc.constant('application/json') },
  { weight: 3, arbitrary: fc.constantFrom(...CONTENT_TYPES) },
  { weight: 1, arbitrary: hostileHeaderValue },
);

/** Headers every route may receive; undefined leaves one out. */
const commonHeaders = fc.record(
  {
    'x-request-id': hostileHeaderValue,
    traceparent: fc.oneof(
      hostileHeaderValue,
      fc.constant(`00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`),
      fc.string({ unit: 'grapheme-ascii', minLength: 201, maxLength: 2000 }).filter(isSendableHeaderValue),
    ),
    'content-encoding': fc.oneof(fc.constantFrom(...CONTENT_ENCODINGS), hostileHeaderValue),
    accept: fc.oneof(
      fc.constantFrom('application/json', 'text/html', '*/*', 'application/problem+json'),
      hostileHeaderValue,
    ),
  },
  { requiredKeys: [] },
);

/** Numbers of `Prefer: wait=N` and other preferences, valid or not. */
const preferHeader = fc.oneof(
  numberText.map((number) => `wait=${number}`),
  fc.constantFrom(
    'wait=0',
    'wait=-1',
    'wait=1e309',
    'respond-async, wait=5',
    'wait=999999',
    'wait=5;wait=6',
    'wait="5"',
  ),
  hostileHeaderValue,
);

/** A cursor: base64url of hostile JSON, of hostile bytes, or a hostile string as it is. */
const hostileCursor = fc.oneof(
  fc
    .record({
      c: fc.oneof(
        fc.date({ noInvalidDate: true }).map((date) => date.toISOString()),
        fc.constantFrom('0000-01-01T00:00:00Z', '2024-02-29T00:00:00.123456789Z', '9999-12-31T23:59:59.999Z'),
        hostileString,
      ),
      i: fc.oneof(fc.uuid(), hostileString),
    })
    .map((position) => Buffer.from(JSON.stringify(position)).toString('base64url')),
  fc.uint8Array({ maxLength: 100 }).map((bytes) => Buffer.from(bytes).toString('base64url')),
  hostileString,
);

const isoDateLike = fc.oneof(
  fc.date({ noInvalidDate: true }).map((date) => date.toISOString()),
  fc.constantFrom(
    '0000-01-01T00:00:00Z',
    '0000-01-01T00:00:00+23:59',
    '9999-12-31T23:59:59.999999999-23:59',
    '2024-02-29T00:00:00-00:00',
    '2023-02-29T00:00:00Z',
    '2024-01-01T24:00:00Z',
  ),
);

/** One query parameter: a known name or a hostile one, a value of any kind, encoded or sent as it is. */
function queryPart(knownValues: fc.Arbitrary<string>): fc.Arbitrary<string> {
  const name = fc.oneof(
    fc.constantFrom(
      'limit',
      'cursor',
      'status',
      'userId',
      'color',
      'createdFrom',
      'createdTo',
      '__proto__',
      'constructor',
      'prototype',
      '__proto__[polluted]',
      'constructor[prototype][polluted]',
      'limit[]',
      'hasOwnProperty',
    ),
    hostileString,
  );
  const value = fc.oneof(
    knownValues,
    hostileString,
    fc.constantFrom(...LIMIT_TEXT),
    hostileCursor,
    isoDateLike,
  );
  return fc
    .tuple(
      name,
      value,
      fc.constantFrom('encoded', 'encoded', 'raw-piece'),
      fc.constantFrom(...RAW_PATH_PIECES),
    )
    .map(([key, text, how, piece]) =>
      how === 'encoded' ? `${percentEncode(key)}=${percentEncode(text)}` : `${percentEncode(key)}=${piece}`,
    );
}

function queryString(knownValues: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc
    .array(queryPart(knownValues), { maxLength: 4 })
    .map((parts) => (parts.length === 0 ? '' : `?${parts.join('&')}`));
}

/** A token subject other than the empty one (jose refuses it) and those with NUL (see their own test). */
function isSubjectWithoutNul(subject: string): boolean {
  return subject !== '' && !subject.includes('\u0000');
}

/** Who a request claims to be: a real user, the admin, or nobody (no Authorization header). */
type Caller = 'alice' | 'admin' | 'nobody';

/** Credentials that must authenticate no one: a garbled header, or a good signature on a subject that is no user. */
type Forged = { header: string } | { subject: string };

interface HostileRequest {
  method: string;
  path: string;
  as: Caller;
  /** Sent instead of the caller's token. */
  forged?: Forged | undefined;
  /** Header names in lower case; undefined leaves a header out. */
  headers: Partial<Record<string, string>>;
  body?: string | Uint8Array | undefined;
}

interface Exchange {
  request: HostileRequest;
  status: number;
  contentType: string;
  replayed: boolean;
  text: string;
}

type Snapshot = Map<string, string>;

interface TableDiff {
  added: string[];
  removed: string[];
  changed: string[];
}

const TABLES = ['users', 'cards', 'outbox', 'inbox', 'idempotency_keys'] as const;
type Table = (typeof TABLES)[number];

/** Runs per property: enough to meet every generator branch a few times, few enough for a 2-core CI box. */
const RUNS = 100;

/** Long enough for a property's runs on a slow box, short of jest's own limit so fast-check reports what it found. */
const PROPERTY_TIME_LIMIT_MS = 40_000;

const propertyOptions = {
  numRuns: RUNS,
  interruptAfterTimeLimit: PROPERTY_TIME_LIMIT_MS,
  markInterruptAsFailure: false,
};

/** Mostly `main`, now and then `other`: most runs exercise the route itself, a few its refusals. */
function mostly<T>(main: fc.Arbitrary<T>, other: fc.Arbitrary<T>): fc.Arbitrary<T> {
  return fc.oneof({ weight: 6, arbitrary: main }, { weight: 1, arbitrary: other });
}

describe('every route, under hostile input', () => {
  let harness: CardApiHarness;
  let alice: { id: string; token: string };
  let bob: { id: string; token: string };
  let adminId: string;
  let aliceCardId: string;
  let aliceEtag: string;
  let bobCursor: string;
  const bobCardIds: string[] = [];
  let prototypeNames: string[];
  let forged: fc.Arbitrary<Forged | undefined>;

  beforeAll(async () => {
    prototypeNames = Object.getOwnPropertyNames(Object.prototype).sort();
    harness = await startCardApi('hostile-input', {
      RATE_LIMIT_CARD_CREATE_PER_USER: '1000000',
      RATE_LIMIT_CARD_CREATE_PER_IP: '1000000',
      LONG_POLL_MAX_SECONDS: '0',
      CARD_LIMIT_PER_USER: '1000',
      // The reaper must not fail this file's PENDING cards behind the snapshots' back.
      SAGA_DEADLINE_SECONDS: '604800',
    });
    alice = await harness.createUser();
    bob = await harness.createUser();
    for (const owner of [bob, bob, alice]) {
      const response = await harness.request('/v1/cards', {
        method: 'POST',
        token: owner.token,
        body: buildCardRequest(),
      });
      const card = CardSchema.parse(await response.json());
      if (owner === bob) {
        bobCardIds.push(card.id);
      } else {
        aliceCardId = card.id;
        aliceEtag = response.headers.get('etag') ?? '';
      }
    }
    const bobPage = await harness.request('/v1/cards?limit=1', { token: bob.token });
    bobCursor = ((await bobPage.json()) as { nextCursor: string }).nextCursor;
    const admin = await harness
      .db('users')
      .where({ external_id: harness.config.ADMIN_EXTERNAL_ID })
      .first<{ id: string }>('id');
    adminId = admin.id;

    const base64url = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
    const [, alicePayload = '', aliceSignature = ''] = alice.token.split('.');
    const forgery: fc.Arbitrary<Forged> = fc.oneof(
      hostileHeaderValue.map((value) => ({ header: `Bearer ${value}` })),
      hostileHeaderValue.map((value) => ({ header: value })),
      fc
        .constantFrom(
          'Bearer',
          `Basic ${Buffer.from('admin:admin').toString('base64')}`,
          // alg "none" with the admin as subject.
          `Bearer ${base64url({ alg: 'none', typ: 'JWT' })}.${base64url({ sub: 'admin' })}.`,
          // Alice's signature under a header that claims another algorithm.
          `Bearer ${base64url({ alg: 'HS512', typ: 'JWT' })}.${alicePayload}.${aliceSignature}`,
          `Bearer ${alice.token}x`,
          `Bearer  ${alice.token}`,
          `bearer ${alice.token}, Bearer ${bob.token}`,
        )
        .map((header) => ({ header })),
      // Subjects with NUL are left to their own test below, so that its known failure does not end these runs.
      fc
        .constantFrom(...[...SQL_INJECTION, ...ODD_STRINGS].filter(isSubjectWithoutNul))
        .map((subject) => ({ subject })),
    );
    forged = fc.oneof({ weight: 6, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: forgery });
  });

  afterAll(async () => {
    await harness.stop();
  });

  /** A digest of every row of the tables a request could touch, keyed by table and primary key. */
  async function snapshot(): Promise<Snapshot> {
    const { rows } = await harness.db.raw<{ rows: { t: Table; k: string; h: string }[] }>(/* sql */ `
      SELECT 'users' AS t, id::text AS k, md5(r::text) AS h FROM users r
      UNION ALL SELECT 'cards', id::text, md5(r::text) FROM cards r
      UNION ALL SELECT 'outbox', id::text, md5(r::text) FROM outbox r
      UNION ALL SELECT 'inbox', event_id, md5(r::text) FROM inbox r
      UNION ALL SELECT 'idempotency_keys', user_id::text || ' ' || key, md5(r::text) FROM idempotency_keys r`);
    return new Map(rows.map((row) => [`${row.t}\u0000${row.k}`, row.h]));
  }

  function diff(before: Snapshot, after: Snapshot): Record<Table, TableDiff> {
    const result = {} as Record<Table, TableDiff>;
    for (const table of TABLES) {
      result[table] = { added: [], removed: [], changed: [] };
    }
    const split = (entry: string): [Table, string] => {
      const at = entry.indexOf('\u0000');
      return [entry.slice(0, at) as Table, entry.slice(at + 1)];
    };
    for (const [entry, hash] of after) {
      const [table, key] = split(entry);
      const previous = before.get(entry);
      if (previous === undefined) {
        result[table].added.push(key);
      } else if (previous !== hash) {
        result[table].changed.push(key);
      }
    }
    for (const entry of before.keys()) {
      if (!after.has(entry)) {
        const [table, key] = split(entry);
        result[table].removed.push(key);
      }
    }
    return result;
  }

  async function authorizationOf(request: HostileRequest): Promise<string | undefined> {
    if (request.forged && 'subject' in request.forged) {
      return `Bearer ${await mintToken(request.forged.subject, harness.config)}`;
    }
    if (request.forged) {
      return request.forged.header;
    }
    return { alice: `Bearer ${alice.token}`, admin: `Bearer ${harness.adminToken}`, nobody: undefined }[
      request.as
    ];
  }

  /** The user the request authenticates as, if any: a forged subject names no user unless one was created so. */
  async function authenticatedUserId(request: HostileRequest): Promise<string | undefined> {
    if (request.forged && 'subject' in request.forged) {
      // PostgreSQL cannot even compare text holding NUL: no user can have such an external id.
      if (request.forged.subject.includes('\u0000')) {
        return undefined;
      }
      const user = await harness
        .db('users')
        .where({ external_id: request.forged.subject })
        .first<{ id: string } | undefined>('id');
      return user?.id;
    }
    if (request.forged) {
      return undefined;
    }
    return { alice: alice.id, admin: adminId, nobody: undefined }[request.as];
  }

  /** Sends a request as it is (nothing added but what fetch itself adds), reading the whole answer. */
  async function exchange(request: HostileRequest): Promise<Exchange> {
    const headers = new Headers();
    for (const [name, value] of Object.entries(request.headers)) {
      if (value !== undefined) {
        headers.set(name, value);
      }
    }
    const authorization = await authorizationOf(request);
    if (authorization !== undefined) {
      headers.set('authorization', authorization);
    }
    const response = await fetch(`${harness.api.url}${request.path}`, {
      method: request.method,
      headers,
      redirect: 'manual',
      ...(request.body !== undefined && { body: request.body }),
    });
    return {
      request,
      status: response.status,
      contentType: response.headers.get('content-type') ?? '',
      replayed: response.headers.get('idempotent-replayed') === 'true',
      text: await response.text(),
    };
  }

  /** The answer itself: no 5xx, problems as problem+json with their own status, nothing of our internals. */
  function expectWellFormed(answer: Exchange): void {
    const readinessReport = answer.request.path.startsWith('/readyz') && answer.status === 503;
    if (!readinessReport) {
      // /readyz answering 503 is its contract when a dependency is slow to answer, not a failure of ours.
      expect(answer.status).toBeLessThan(500);
    }
    if (answer.status >= 400) {
      expect(answer.contentType).toMatch(/^application\/problem\+json/);
      if (answer.request.method !== 'HEAD') {
        const problem = ProblemSchema.parse(JSON.parse(answer.text));
        expect(problem.status).toBe(answer.status);
      }
    }
    if (!/^text\/(html|css)|javascript/.test(answer.contentType)) {
      expect(answer.text).not.toMatch(STACK_TRACE);
    }
  }

  /** Rows changed only as the answer promises, and no other user's card in an answer to anyone but the admin. */
  async function expectOnlyPromisedChanges(
    answer: Exchange,
    changes: Record<Table, TableDiff>,
  ): Promise<void> {
    for (const table of TABLES) {
      expect({ table, removed: changes[table].removed, changed: changes[table].changed }).toEqual({
        table,
        removed: [],
        changed: [],
      });
    }
    expect(changes.inbox.added).toEqual([]);
    const caller = await authenticatedUserId(answer.request);
    const created = answer.status === 202 && !answer.replayed;

    const cards = await harness
      .db('cards')
      .whereIn('id', changes.cards.added)
      .select<{ id: string; user_id: string }[]>('id', 'user_id');
    expect(cards).toHaveLength(created ? 1 : 0);
    for (const card of cards) {
      expect(card.user_id).toBe(caller);
      expect(answer.text).toContain(card.id);
    }

    const outbox = await harness
      .db('outbox')
      .whereIn('id', changes.outbox.added)
      .select<{ key: string; event: AnyCardEvent }[]>('key', 'event');
    expect(outbox).toHaveLength(created ? 1 : 0);
    for (const row of outbox) {
      expect(row.key).toBe(cards[0]?.id);
      expect(row.event.type).toBe(EventType.provisionRequested);
      expect(row.event.data).toMatchObject({ cardId: row.key, cardholderRef: caller });
      // The relay must be able to publish it: a row it cannot encode would hold up every card behind it.
      expect(() => encodeEvent(row.event)).not.toThrow();
    }

    expect(changes.idempotency_keys.added.length).toBeLessThanOrEqual(1);
    for (const added of changes.idempotency_keys.added) {
      const row = await harness
        .db('idempotency_keys')
        .whereRaw(/* sql */ "user_id::text || ' ' || key = ?", [added])
        .first<{ user_id: string; key: string; status: string; response_status: number | null }>(
          'user_id',
          'key',
          'status',
          'response_status',
        );
      expect(row).toEqual({
        user_id: caller,
        key: answer.request.headers['idempotency-key'],
        // A claim left IN_PROGRESS would answer every retry with this key 409 until it goes stale.
        status: 'COMPLETED',
        response_status: answer.status,
      });
    }

    const users = await harness
      .db('users')
      .whereIn('id', changes.users.added)
      .select<{ external_id: string; role: string }[]>('external_id', 'role');
    expect(users).toHaveLength(answer.status === 201 ? 1 : 0);
    for (const user of users) {
      const sent = JSON.parse(String(answer.request.body)) as { externalId: unknown };
      expect(user).toEqual({ external_id: sent.externalId, role: 'user' });
    }

    if (answer.request.as !== 'admin' || answer.request.forged) {
      // An answer may echo what was asked (a 404 or a redirect names its path); else it never shows another's card.
      const asked = [
        answer.request.path,
        String(answer.request.body),
        ...Object.values(answer.request.headers),
      ];
      const shown = answer.status < 400 ? answer.text : '';
      for (const id of [...bobCardIds, bob.id]) {
        expect(asked.some((part) => part?.includes(id)) ? '' : shown).not.toContain(id);
      }
      const named = /^\/v1\/cards\/([^/?]+)$/.exec(answer.request.path)?.[1];
      const readsBobsCard =
        ['GET', 'HEAD'].includes(answer.request.method) && bobCardIds.includes(named ?? '');
      expect(readsBobsCard && [200, 304].includes(answer.status)).toBe(false);
    }
  }

  /** Sends one hostile request and checks every promise about it. */
  async function expectSafe(request: HostileRequest): Promise<Exchange> {
    const before = await snapshot();
    const answer = await exchange(request);
    const after = await snapshot();
    expectWellFormed(answer);
    await expectOnlyPromisedChanges(answer, diff(before, after));
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeNames);
    expect((Object.prototype as Record<string, unknown>)['polluted']).toBeUndefined();
    return answer;
  }

  /** Headers of a JSON POST, the common ones generated, and Idempotency-Key as given. */
  const postHeaders = (): fc.Arbitrary<Partial<Record<string, string>>> =>
    fc
      .tuple(
        commonHeaders,
        fc.record(
          { 'content-type': contentType, 'idempotency-key': hostileHeaderValue },
          { requiredKeys: [] },
        ),
      )
      .map(([common, own]) => ({ ...common, ...own }));

  const json = { 'content-type': 'application/json' };

  it('when POST /v1/cards gets generated bodies, headers and credentials, then only a 202 stores anything: one card, its event and its key', async () => {
    const request: fc.Arbitrary<HostileRequest> = fc.record({
      method: fc.constant('POST'),
      path: fc.constant('/v1/cards'),
      as: mostly(fc.constant<Caller>('alice'), fc.constant<Caller>('nobody')),
      forged,
      headers: postHeaders(),
      body: fc.option(hostileBody, { freq: 8, nil: undefined }),
    });
    const post = (headers: Partial<Record<string, string>>, body: string): [HostileRequest] => [
      { method: 'POST', path: '/v1/cards', as: 'alice', headers, body },
    ];
    await fc.assert(
      fc.asyncProperty(request, async (hostile) => {
        await expectSafe(hostile);
      }),
      {
        ...propertyOptions,
        // Each answered 500 or stored a bad row before its fix: a charset or Content-Encoding the body parser
        // refuses and a body it cannot inflate (problem.ts); a traceparent longer than the outbox envelope takes
        // (cards.routes.ts); nesting deeper than the call stack (canonicalJson); an echoed NUL the key's record
        // could not hold (validation.ts).
        examples: [
          post({ 'content-type': 'application/json; charset=latin1' }, '{"color":"gold"}'),
          post({ ...json, 'content-encoding': 'gzip' }, '{"color":"gold"}'),
          post({ ...json, 'content-encoding': 'x-garbage' }, '{"color":"gold"}'),
          post({ ...json, traceparent: 'x'.repeat(201) }, '{"color":"gold"}'),
          post({ ...json, 'idempotency-key': `deep-${randomUUID()}` }, '['.repeat(8100) + ']'.repeat(8100)),
          post({ ...json, 'idempotency-key': `nul-${randomUUID()}` }, '{"\\u0000":1,"\\ud800":2}'),
        ],
      },
    );
  }, 60_000);

  it('when GET /v1/cards/{id} gets generated ids, Prefer, If-None-Match and credentials, then nothing changes and another user’s card is never answered', async () => {
    const id = fc.oneof(
      fc.constantFrom(aliceCardId, aliceCardId.toUpperCase(), ...bobCardIds),
      fc.constantFrom('00000000-0000-0000-0000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff'),
      fc.uuid(),
      hostileString.map(percentEncode),
      fc.constantFrom(...RAW_PATH_PIECES),
      fc
        .tuple(
          fc.constantFrom(aliceCardId, ...bobCardIds),
          fc.oneof(hostileString.map(percentEncode), fc.constantFrom(...RAW_PATH_PIECES)),
        )
        .map(([known, tail]) => `${known}${tail}`),
    );
    const headers = fc
      .tuple(
        commonHeaders,
        fc.record(
          {
            prefer: preferHeader,
            'if-none-match': fc.oneof(
              fc.constantFrom('*', aliceEtag, `W/${aliceEtag}`, `"x", ${aliceEtag}`),
              hostileHeaderValue,
            ),
          },
          { requiredKeys: [] },
        ),
      )
      .map(([common, own]) => ({ ...common, ...own }));
    const request: fc.Arbitrary<HostileRequest> = fc.record({
      method: fc.constantFrom('GET', 'HEAD'),
      path: id.map((value) => `/v1/cards/${value}`),
      as: mostly(fc.constant<Caller>('alice'), fc.constant<Caller>('nobody')),
      forged,
      headers,
    });
    await fc.assert(
      fc.asyncProperty(request, async (hostile) => {
        await expectSafe(hostile);
      }),
      {
        ...propertyOptions,
        examples: [
          // Answered 500 before problem.ts mapped the router's URIError.
          [{ method: 'GET', path: '/v1/cards/%E0%A4%A', as: 'alice', headers: {} }],
          [
            {
              method: 'GET',
              path: `/v1/cards/${bobCardIds[0] ?? ''}`,
              as: 'alice',
              headers: { prefer: 'wait=1e309' },
            },
          ],
        ],
      },
    );
  }, 60_000);

  it('when GET /v1/cards gets generated query strings, then nothing changes and only the caller’s cards come back', async () => {
    const request: fc.Arbitrary<HostileRequest> = fc.record({
      method: fc.constantFrom('GET', 'HEAD'),
      path: queryString(fc.constantFrom('PENDING', 'ACTIVE', 'FAILED', 'gold', bobCursor, bob.id)).map(
        (query) => `/v1/cards${query}`,
      ),
      as: mostly(fc.constant<Caller>('alice'), fc.constant<Caller>('nobody')),
      forged,
      headers: commonHeaders,
    });
    await fc.assert(
      fc.asyncProperty(request, async (hostile) => {
        await expectSafe(hostile);
      }),
      {
        ...propertyOptions,
        examples: [[{ method: 'GET', path: `/v1/cards?cursor=${bobCursor}`, as: 'alice', headers: {} }]],
      },
    );
  }, 60_000);

  it('when POST /v1/admin/users gets generated bodies and credentials, then only a 201 stores anything: exactly the user it names', async () => {
    const externalId = fc.stringMatching(/^[\x21-\x7E]{1,40}$/);
    const body = fc.oneof(
      fc
        .record({
          externalId: fc.oneof(externalId, hostileString),
          email: fc.oneof(fc.emailAddress(), hostileString),
        })
        .map((value) => JSON.stringify(value)),
      fc
        .record(
          { externalId: fc.jsonValue({ maxDepth: 2 }), email: fc.jsonValue({ maxDepth: 2 }) },
          { requiredKeys: [] },
        )
        .map((value) => JSON.stringify(value)),
      fc
        .tuple(externalId, fc.emailAddress(), jsonKey, fc.jsonValue({ maxDepth: 2 }))
        .map(([id, email, key, value]) => JSON.stringify({ externalId: id, email, [key]: value })),
      fc
        .tuple(externalId, fc.oneof(externalId, hostileString), fc.emailAddress())
        .map(
          ([first, last, email]) =>
            `{"externalId":${JSON.stringify(first)},"externalId":${JSON.stringify(last)},"email":${JSON.stringify(email)}}`,
        ),
      hostileBody,
    );
    const request: fc.Arbitrary<HostileRequest> = fc.record({
      method: fc.constant('POST'),
      path: fc.constant('/v1/admin/users'),
      as: mostly(fc.constant<Caller>('admin'), fc.constantFrom<Caller>('alice', 'nobody')),
      forged,
      headers: postHeaders(),
      body,
    });
    await fc.assert(
      fc.asyncProperty(request, async (hostile) => {
        await expectSafe(hostile);
      }),
      propertyOptions,
    );
  }, 60_000);

  it('when GET /v1/admin/cards gets generated filters and credentials, then nothing changes', async () => {
    const request: fc.Arbitrary<HostileRequest> = fc.record({
      method: fc.constantFrom('GET', 'HEAD'),
      path: queryString(
        fc.constantFrom('PENDING', 'FAILED', 'gold', 'pink', bobCursor, bob.id, alice.id, adminId),
      ).map((query) => `/v1/admin/cards${query}`),
      as: mostly(fc.constant<Caller>('admin'), fc.constantFrom<Caller>('alice', 'nobody')),
      forged,
      headers: commonHeaders,
    });
    await fc.assert(
      fc.asyncProperty(request, async (hostile) => {
        await expectSafe(hostile);
      }),
      {
        ...propertyOptions,
        examples: [
          [
            {
              method: 'GET',
              path: '/v1/admin/cards?createdFrom=0000-01-01T00:00:00%2B23:59',
              as: 'admin',
              headers: {},
            },
          ],
        ],
      },
    );
  }, 60_000);

  it('when any method reaches any path (health, readiness, docs, unknown ones) with any credentials, then nothing changes but what a 2xx promises', async () => {
    const knownPath = fc.constantFrom(
      '/healthz',
      '/readyz',
      '/docs',
      '/docs/',
      '/swagger',
      '/openapi.json',
      '/v1',
      '/',
      '/v1/cards',
      '/v1/cards/',
      `/v1/cards/${aliceCardId}`,
      '/v1/admin',
      '/v1/admin/users',
      '/v1/admin/cards',
    );
    const segment = fc.oneof(
      fc.constantFrom('v1', 'cards', 'admin', 'users', 'docs', 'healthz', 'openapi.json'),
      hostileString.map(percentEncode),
      fc.constantFrom(...RAW_PATH_PIECES),
    );
    const path = fc
      .tuple(
        fc.oneof(
          knownPath,
          fc.array(segment, { minLength: 1, maxLength: 4 }).map((parts) => `/${parts.join('/')}`),
        ),
        queryString(fc.constantFrom('gold', 'PENDING', bob.id)),
      )
      .map(([where, query]) => `${where}${query}`);
    const request: fc.Arbitrary<HostileRequest> = fc
      .record({
        method: fc.constantFrom(...METHODS),
        path,
        as: fc.constantFrom<Caller>('alice', 'admin', 'nobody'),
        forged,
        headers: postHeaders(),
        body: hostileBody,
      })
      .map((value) => (['GET', 'HEAD'].includes(value.method) ? { ...value, body: undefined } : value));
    await fc.assert(
      fc.asyncProperty(request, async (hostile) => {
        await expectSafe(hostile);
      }),
      {
        ...propertyOptions,
        examples: [
          [{ method: 'GET', path: '/docs/%2e%2e/%2e%2e/package.json', as: 'nobody', headers: {} }],
          [
            {
              method: 'PUT',
              path: `/v1/cards/${bobCardIds[0] ?? ''}`,
              as: 'alice',
              headers: json,
              body: '{}',
            },
          ],
        ],
      },
    );
  }, 60_000);

  it('when a body nests arrays or objects thousands deep, with or without an Idempotency-Key, then it is a 4xx problem and nothing but that answer is stored', async () => {
    const request: fc.Arbitrary<HostileRequest> = fc
      .record({
        path: fc.constantFrom('/v1/cards', '/v1/admin/users'),
        body: fc.oneof(
          deepJson,
          fc.integer({ min: 8200, max: 10_000 }).map((depth) => '['.repeat(depth) + ']'.repeat(depth)),
        ),
        key: fc.option(fc.uuid(), { nil: undefined }),
      })
      .map(({ path, body, key }): HostileRequest => ({
        method: 'POST',
        path,
        as: path === '/v1/cards' ? 'alice' : 'admin',
        headers: { ...json, 'idempotency-key': key },
        body,
      }));
    await fc.assert(
      fc.asyncProperty(request, async (hostile) => {
        const answer = await expectSafe(hostile);
        expect([400, 413, 422]).toContain(answer.status);
      }),
      { ...propertyOptions, numRuns: 30 },
    );
  }, 60_000);

  it('when a body repeats a key, then the last value counts, as JSON.parse has it: a card only when that one is a colour', async () => {
    const colour = fc.oneof(fc.constantFrom(...CARD_COLORS), hostileString);
    await fc.assert(
      fc.asyncProperty(colour, colour, fc.option(fc.uuid(), { nil: undefined }), async (first, last, key) => {
        const answer = await expectSafe({
          method: 'POST',
          path: '/v1/cards',
          as: 'alice',
          headers: { ...json, 'idempotency-key': key },
          body: `{"color":${JSON.stringify(first)},"color":${JSON.stringify(last)}}`,
        });
        const valid = (CARD_COLORS as readonly string[]).includes(last);
        expect(answer.status).toBe(valid ? 202 : 422);
        const stored = answer.status === 202 ? CardSchema.parse(JSON.parse(answer.text)).color : undefined;
        expect(stored).toBe(valid ? last : undefined);
      }),
      { ...propertyOptions, numRuns: 30 },
    );
  }, 60_000);

  it('when bodies and queries carry __proto__, constructor and prototype keys, then they are refused and Object.prototype gains nothing', async () => {
    const pollutingKey = fc.constantFrom('__proto__', 'constructor', 'prototype');
    const request: fc.Arbitrary<HostileRequest> = fc.oneof(
      fc
        .tuple(prototypeKeys, fc.constantFrom('/v1/cards', '/v1/admin/users'))
        .map(([body, path]): HostileRequest => ({
          method: 'POST',
          path,
          as: path === '/v1/cards' ? 'alice' : 'admin',
          headers: json,
          body,
        })),
      fc
        .tuple(pollutingKey, fc.constantFrom('/v1/cards', '/v1/admin/cards'))
        .map(([key, path]): HostileRequest => ({
          method: 'GET',
          path: `${path}?${key}[polluted]=yes&${key}=1&${key}.polluted=yes`,
          as: path === '/v1/cards' ? 'alice' : 'admin',
          headers: {},
        })),
    );
    await fc.assert(
      fc.asyncProperty(request, async (hostile) => {
        const answer = await expectSafe(hostile);
        expect(answer.status).toBe(422);
      }),
      { ...propertyOptions, numRuns: 20 },
    );
  }, 60_000);

  it('when a well-signed token names a subject with NUL, then it is refused as no known user, not a 500', async () => {
    // Found by these properties: PostgreSQL refuses NUL in text, and the user lookup by `sub` passes it on as it is.
    for (const subject of ['\u0000', "';--\u0000"]) {
      const answer = await expectSafe({
        method: 'GET',
        path: '/v1/cards',
        as: 'nobody',
        forged: { subject },
        headers: {},
      });
      expect(answer.status).toBe(403);
    }
  });

  /** One string parameter of one route, with the payload put in it; undefined when it cannot be sent there. */
  interface Slot {
    name: string;
    build(payload: string): HostileRequest | undefined;
  }

  function slots(): Slot[] {
    const get = (path: string, as: Caller = 'alice'): HostileRequest => ({
      method: 'GET',
      path,
      as,
      headers: {},
    });
    const post = (
      path: string,
      body: unknown,
      as: Caller,
      headers: Partial<Record<string, string>> = json,
    ) => ({
      method: 'POST',
      path,
      as,
      headers,
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    const cursor = (position: unknown): string => Buffer.from(JSON.stringify(position)).toString('base64url');
    const header = (name: string, request: (value: string) => HostileRequest) => (payload: string) =>
      isSendableHeaderValue(payload) ? request(payload) : undefined;
    const validCard = buildCardRequest();
    return [
      { name: 'GET /v1/cards/{id}', build: (p) => get(`/v1/cards/${percentEncode(p)}`) },
      {
        name: 'GET /v1/cards/{id} after a real id',
        build: (p) => get(`/v1/cards/${aliceCardId}${percentEncode(p)}`),
      },
      ...['limit', 'cursor', 'status'].map((name) => ({
        name: `GET /v1/cards ?${name}`,
        build: (p: string) => get(`/v1/cards?${name}=${percentEncode(p)}`),
      })),
      {
        name: 'GET /v1/cards cursor.c',
        build: (p) => get(`/v1/cards?cursor=${cursor({ c: p, i: aliceCardId })}`),
      },
      {
        name: 'GET /v1/cards cursor.i',
        build: (p) => get(`/v1/cards?cursor=${cursor({ c: '2024-01-01T00:00:00Z', i: p })}`),
      },
      ...['limit', 'cursor', 'status', 'userId', 'color', 'createdFrom', 'createdTo'].map((name) => ({
        name: `GET /v1/admin/cards ?${name}`,
        build: (p: string) => get(`/v1/admin/cards?${name}=${percentEncode(p)}`, 'admin'),
      })),
      { name: 'POST /v1/cards body.color', build: (p) => post('/v1/cards', { color: p }, 'alice') },
      {
        name: 'POST /v1/cards body member name',
        build: (p) => post('/v1/cards', { color: 'gold', [p]: p }, 'alice'),
      },
      {
        name: 'POST /v1/admin/users body.externalId',
        build: (p) =>
          post('/v1/admin/users', { externalId: p, email: `${randomUUID()}@example.com` }, 'admin'),
      },
      {
        name: 'POST /v1/admin/users body.email',
        build: (p) => post('/v1/admin/users', { externalId: `sql-${randomUUID()}`, email: p }, 'admin'),
      },
      {
        name: 'POST /v1/admin/users body.email local part',
        build: (p) =>
          post('/v1/admin/users', { externalId: `sql-${randomUUID()}`, email: `${p}@example.com` }, 'admin'),
      },
      {
        name: 'Idempotency-Key',
        build: header('idempotency-key', (p) =>
          post('/v1/cards', validCard, 'alice', { ...json, 'idempotency-key': p }),
        ),
      },
      {
        name: 'traceparent',
        build: header('traceparent', (p) =>
          post('/v1/cards', validCard, 'alice', { ...json, traceparent: p }),
        ),
      },
      {
        name: 'Content-Type',
        build: header('content-type', (p) => post('/v1/cards', validCard, 'alice', { 'content-type': p })),
      },
      {
        name: 'Prefer',
        build: header('prefer', (p) => ({
          ...get(`/v1/cards/${aliceCardId}`),
          headers: { prefer: `wait=${p}` },
        })),
      },
      {
        name: 'If-None-Match',
        build: header('if-none-match', (p) => ({
          ...get(`/v1/cards/${aliceCardId}`),
          headers: { 'if-none-match': p },
        })),
      },
      {
        name: 'X-Request-Id',
        build: header('x-request-id', (p) => ({ ...get('/v1/cards'), headers: { 'x-request-id': p } })),
      },
      {
        name: 'Authorization',
        build: header('authorization', (p) => ({ ...get('/v1/cards'), forged: { header: `Bearer ${p}` } })),
      },
      {
        name: 'token subject',
        build: (p) => (isSubjectWithoutNul(p) ? { ...get('/v1/cards'), forged: { subject: p } } : undefined),
      },
    ];
  }

  it('when every string parameter of every route carries SQL injection payloads, then no row changes but what a 2xx promises and no other user’s card is answered', async () => {
    const tried: string[] = [];
    for (const slot of slots()) {
      for (const payload of SQL_INJECTION) {
        const request = slot.build(payload);
        if (!request) {
          continue;
        }
        tried.push(slot.name);
        try {
          await expectSafe(request);
        } catch (error) {
          throw new Error(`${slot.name} with ${JSON.stringify(payload)}: ${String(error)}`, { cause: error });
        }
      }
    }
    // Every slot met payloads: the header slots skip only what no client could send.
    expect(new Set(tried).size).toBe(slots().length);
    const tables = await harness.db.raw<{ rows: { name: string }[] }>(
      /* sql */ "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
    );
    expect(tables.rows.map((row) => row.name)).toEqual(expect.arrayContaining([...TABLES]));
  }, 60_000);
});
