import { AppError, type ErrorKind } from '@cards/contracts';

import { isDeferredError, isPermanentError } from './error-policy';

const ofKind = (kind: ErrorKind): AppError => new AppError({ code: 'INTERNAL', kind, message: kind });

describe('the consumers’ error policy', () => {
  it.each<[ErrorKind, 'dead-letter at once' | 'defer' | 'retry']>([
    ['malformed', 'dead-letter at once'],
    ['invalid', 'dead-letter at once'],
    ['unsupported', 'dead-letter at once'],
    ['unauthenticated', 'dead-letter at once'],
    ['forbidden', 'dead-letter at once'],
    ['not-found', 'dead-letter at once'],
    ['conflict', 'dead-letter at once'],
    ['deferred', 'defer'],
    ['unavailable', 'retry'],
    ['rate-limited', 'retry'],
    ['internal', 'retry'],
  ])('when a handler throws an AppError of kind %s, then the message is to %s', (kind, decision) => {
    const error = ofKind(kind);

    expect(isPermanentError(error)).toBe(decision === 'dead-letter at once');
    expect(isDeferredError(error)).toBe(decision === 'defer');
  });

  it('when a handler throws anything but an AppError, then it is neither permanent nor a deferral (retried)', () => {
    for (const error of [new Error('bug'), 'a string', undefined, { kind: 'invalid' }]) {
      expect(isPermanentError(error)).toBe(false);
      expect(isDeferredError(error)).toBe(false);
    }
  });
});
