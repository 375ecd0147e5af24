import { randomUUID } from 'node:crypto';

import type { z } from 'zod';

import {
  AdminCardListSchema,
  AdminCardSchema,
  CardListSchema,
  CardSchema,
  CreateCardRequestSchema,
  UserSchema,
} from './cards';
import {
  CardCancelledSchema,
  CardCancelRequestedSchema,
  CardProvisionedSchema,
  CardProvisionRequestedSchema,
  CardProvisioningFailedSchema,
  decodeEvent,
  encodeEvent,
  EventType,
  type AnyCardEvent,
} from './events';
import {
  ProviderCardListSchema,
  ProviderCardSchema,
  ProviderCreateCardRequestSchema,
  ProviderErrorSchema,
} from './provider';

/** What a careless producer might add: a full card number and CVV under the names they usually go by. */
const CARD_DATA = {
  pan: '4111111111111111',
  cvv: '123',
  cardNumber: '5555555555554444',
  card_number: '4012888888881881',
  cvc: '737',
} as const;
const CARD_DATA_KEYS = Object.keys(CARD_DATA);
const FULL_CARD_NUMBERS = /4111111111111111|5555555555554444|4012888888881881/;

const cardId = randomUUID();
const now = '2026-11-28T10:00:00.000Z';

const card = {
  id: cardId,
  color: 'gold',
  status: 'ACTIVE',
  last4: '1111',
  expMonth: 11,
  expYear: 2029,
  failureCode: null,
  failureMessage: null,
  createdAt: now,
  updatedAt: now,
  activatedAt: now,
} as const;

const providerCard = {
  id: 'pc_0123456789abcdef01234567',
  reference: cardId,
  color: 'gold',
  cardholderRef: randomUUID(),
  status: 'ACTIVE',
  last4: '1111',
  expMonth: 11,
  expYear: 2029,
  createdAt: now,
  cancelledAt: null,
} as const;

/** Every key of a parsed value, at any depth. */
function keysDeep(value: unknown): string[] {
  if (Array.isArray(value)) {
    return value.flatMap(keysDeep);
  }
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).flatMap(([key, item]) => [key, ...keysDeep(item)]);
  }
  return [];
}

describe('card data in the contracts', () => {
  /** Each event's data schema with a valid payload; all of them are strict. */
  const eventPayloads: [string, z.ZodType, Record<string, unknown>][] = [
    [
      EventType.provisionRequested,
      CardProvisionRequestedSchema,
      { cardId, color: 'gold', cardholderRef: randomUUID(), requestedAt: now },
    ],
    [
      EventType.cancelRequested,
      CardCancelRequestedSchema,
      { cardId, providerCardId: 'pc_1', reason: 'late' },
    ],
    [
      EventType.provisioned,
      CardProvisionedSchema,
      { cardId, providerCardId: 'pc_1', last4: '1111', expMonth: 11, expYear: 2029 },
    ],
    [
      EventType.provisioningFailed,
      CardProvisioningFailedSchema,
      { cardId, code: 'PROVIDER_REJECTED', message: 'refused', attempts: 1 },
    ],
    [EventType.cancelled, CardCancelledSchema, { cardId, providerCardId: 'pc_1' }],
  ];

  describe.each(eventPayloads)('when a %s event carries card data', (type, schema, payload) => {
    it('then its schema refuses it', () => {
      expect(schema.safeParse(payload).success).toBe(true);
      for (const [key, value] of Object.entries(CARD_DATA)) {
        expect(schema.safeParse({ ...payload, [key]: value }).success).toBe(false);
      }
    });

    it('then it can neither be encoded nor decoded', () => {
      const event = {
        id: randomUUID(),
        type,
        source: 'test',
        time: now,
        subject: cardId,
        data: { ...payload, ...CARD_DATA },
      } as unknown as AnyCardEvent;
      expect(() => encodeEvent(event)).toThrow();

      const valid = encodeEvent({ ...event, data: payload } as AnyCardEvent);
      const smuggled = decodeEvent({
        headers: valid.headers,
        value: JSON.stringify({ ...payload, ...CARD_DATA }),
      });
      expect(smuggled.ok).toBe(false);
    });
  });

  it('when an event is decoded with extra headers, then none of them reaches the event', () => {
    const encoded = encodeEvent({
      id: randomUUID(),
      type: EventType.cancelled,
      source: 'test',
      time: now,
      subject: cardId,
      data: { cardId, providerCardId: 'pc_1' },
    });

    const decoded = decodeEvent({ value: encoded.value, headers: { ...encoded.headers, ...CARD_DATA } });

    expect(decoded.ok).toBe(true);
    for (const key of CARD_DATA_KEYS) {
      expect(keysDeep(decoded)).not.toContain(key);
    }
    expect(JSON.stringify(decoded)).not.toMatch(FULL_CARD_NUMBERS);
  });

  it.each([
    ['CreateCardRequest', CreateCardRequestSchema, { color: 'gold' }],
    [
      'ProviderCreateCardRequest',
      ProviderCreateCardRequestSchema,
      { reference: cardId, color: 'gold', cardholderRef: randomUUID() },
    ],
  ] as [string, z.ZodType, Record<string, unknown>][])(
    'when a request body of type %s carries card data, then it is refused',
    (_name, schema, body) => {
      expect(schema.safeParse(body).success).toBe(true);
      for (const [key, value] of Object.entries(CARD_DATA)) {
        expect(schema.safeParse({ ...body, [key]: value }).success).toBe(false);
      }
    },
  );

  /** Response schemas are plain objects: parsing one is how a client or a test drops unknown fields. */
  it.each([
    ['Card', CardSchema, { ...card, ...CARD_DATA }],
    ['AdminCard', AdminCardSchema, { ...card, userId: randomUUID(), ...CARD_DATA }],
    ['CardList', CardListSchema, { data: [{ ...card, ...CARD_DATA }], nextCursor: null, ...CARD_DATA }],
    [
      'AdminCardList',
      AdminCardListSchema,
      { data: [{ ...card, userId: randomUUID(), ...CARD_DATA }], nextCursor: null },
    ],
    [
      'User',
      UserSchema,
      {
        id: randomUUID(),
        externalId: 'u',
        email: 'u@example.test',
        role: 'user',
        createdAt: now,
        ...CARD_DATA,
      },
    ],
    ['ProviderCard', ProviderCardSchema, { ...providerCard, ...CARD_DATA }],
    ['ProviderCardList', ProviderCardListSchema, { data: [{ ...providerCard, ...CARD_DATA }] }],
    ['ProviderError', ProviderErrorSchema, { error: 'card_rejected', message: 'no', ...CARD_DATA }],
  ] as [string, z.ZodType, Record<string, unknown>][])(
    'when an answer of type %s carries card data, then parsing it drops the card data',
    (_name, schema, answer) => {
      const parsed: unknown = schema.parse(answer);

      for (const key of CARD_DATA_KEYS) {
        expect(keysDeep(parsed)).not.toContain(key);
      }
      expect(JSON.stringify(parsed)).not.toMatch(FULL_CARD_NUMBERS);
    },
  );

  it('when a card is parsed, then the only card details it keeps are last4 and expiry', () => {
    expect(Object.keys(CardSchema.shape).sort()).toEqual(
      [
        'activatedAt',
        'color',
        'createdAt',
        'expMonth',
        'expYear',
        'failureCode',
        'failureMessage',
        'id',
        'last4',
        'status',
        'updatedAt',
      ].sort(),
    );
    expect(Object.keys(CardProvisionedSchema.shape).sort()).toEqual(
      ['attempts', 'cardId', 'expMonth', 'expYear', 'last4', 'providerCardId'].sort(),
    );
    expect(CardSchema.shape.last4.safeParse('4111111111111111').success).toBe(false);
    expect(CardProvisionedSchema.shape.last4.safeParse('4111111111111111').success).toBe(false);
    expect(ProviderCardSchema.shape.last4.safeParse('4111111111111111').success).toBe(false);
  });
});
