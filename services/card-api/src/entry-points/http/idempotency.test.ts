import { canonicalJson, parseIdempotencyKey, requestHash } from './idempotency';
import { expectedProblem } from './problem';

/** The problem+json answer to what `action` throws (undefined when it throws nothing the edge expects). */
function thrownBy(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return expectedProblem(error)?.problem;
  }
  return undefined;
}

describe('parseIdempotencyKey', () => {
  it('when the header is absent, then there is no key', () => {
    expect(parseIdempotencyKey(undefined)).toBeUndefined();
  });

  it.each([['a'], ['order-2026-01-02T03:04:05Z/42'], ['with spaces and ~!@#$%^&*()'], ['k'.repeat(255)]])(
    'when the key is %j, then it is accepted as it is',
    (key) => {
      expect(parseIdempotencyKey([key])).toBe(key);
    },
  );

  it.each([
    ['empty', ''],
    ['256 characters', 'k'.repeat(256)],
    ['not ASCII', 'clé'],
    ['a control character', 'a\tb'],
    ['DEL', 'a\x7Fb'],
  ])('when the key is %s, then it is 400 IDEMPOTENCY_KEY_INVALID', (_label, key) => {
    const error = thrownBy(() => parseIdempotencyKey([key]));
    expect(error).toMatchObject({ status: 400, code: 'IDEMPOTENCY_KEY_INVALID' });
  });

  it('when the header is sent twice, then it is invalid rather than one of them picked', () => {
    expect(thrownBy(() => parseIdempotencyKey(['a', 'b']))).toMatchObject({ status: 400 });
  });
});

describe('canonicalJson', () => {
  it('when members come in another order, at any depth, then the text is the same', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: null } })).toBe(
      canonicalJson({ a: { c: null, d: [1, { x: 1, y: 2 }] }, b: 1 }),
    );
    expect(canonicalJson({ b: 1, a: 2 })).toBe('{"a":2,"b":1}');
  });

  it('when arrays differ in order, then the text differs (order is data in an array)', () => {
    expect(canonicalJson([1, 2])).not.toBe(canonicalJson([2, 1]));
  });

  it('when there is no body, then it reads as null', () => {
    expect(canonicalJson(undefined)).toBe('null');
    expect(canonicalJson(null)).toBe('null');
  });
});

describe('requestHash', () => {
  const request = { method: 'POST', path: '/v1/cards', body: { color: 'gold', extra: { a: 1, b: 2 } } };

  it('when the same request is sent with members reordered, then the hash is the same', () => {
    expect(requestHash(request)).toBe(
      requestHash({ ...request, method: 'post', body: { extra: { b: 2, a: 1 }, color: 'gold' } }),
    );
    expect(requestHash(request)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('when the body, the method or the path differs, then the hash differs', () => {
    const hash = requestHash(request);
    expect(requestHash({ ...request, body: { color: 'pink' } })).not.toBe(hash);
    expect(requestHash({ ...request, method: 'PUT' })).not.toBe(hash);
    expect(requestHash({ ...request, path: '/v1/other' })).not.toBe(hash);
  });
});
