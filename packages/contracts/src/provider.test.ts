import { CardCancelledSchema, CardCancelRequestedSchema, CardProvisionedSchema } from './events';
import { ProviderCardIdSchema, ProviderCardSchema } from './provider';

const providerCard = {
  id: 'pc_0123456789abcdef',
  reference: '6f1c1e8e-2a4b-4c4e-9d2b-6a3f0b2c9d11',
  color: 'gold',
  cardholderRef: '0b7f3c52-6a7e-4e0a-8a43-2c0f1d4a5b6c',
  status: 'ACTIVE',
  last4: '4242',
  expMonth: 12,
  expYear: 2030,
  createdAt: '2026-12-04T10:00:00.000Z',
  cancelledAt: null,
};

/** Ids a provider could send that would break what we store or publish them in (text columns, events, URLs). */
const UNUSABLE_IDS = [
  ['empty', ''],
  ['a NUL', 'pc_\u0000abc'],
  ['a lone surrogate', 'pc_\ud800abc'],
  ['a space', 'pc abc'],
  ['a slash', 'pc/../admin'],
  ['a newline', 'pc_abc\n'],
  ['101 characters', `pc_${'a'.repeat(98)}`],
];

describe('ProviderCardIdSchema', () => {
  it.each(UNUSABLE_IDS)('when a provider card id has %s, then the contract refuses it', (_what, id) => {
    expect(ProviderCardIdSchema.safeParse(id).success).toBe(false);
    expect(ProviderCardSchema.safeParse({ ...providerCard, id }).success).toBe(false);
  });

  it.each(['pc_0123456789abcdef', 'ic_1Nv0FGQ9RKHgCVdK', 'card-42:eu.1', `pc_${'a'.repeat(97)}`])(
    'when a provider card id is %s, then the contract accepts it',
    (id) => {
      expect(ProviderCardSchema.safeParse({ ...providerCard, id }).success).toBe(true);
    },
  );

  it.each(UNUSABLE_IDS)(
    'when an event names a provider card id with %s, then the event is refused',
    (_what, id) => {
      const cardId = providerCard.reference;
      expect(CardCancelRequestedSchema.safeParse({ cardId, providerCardId: id, reason: 'r' }).success).toBe(
        false,
      );
      expect(
        CardProvisionedSchema.safeParse({
          cardId,
          providerCardId: id,
          last4: '4242',
          expMonth: 1,
          expYear: 2030,
        }).success,
      ).toBe(false);
      expect(CardCancelledSchema.safeParse({ cardId, providerCardId: id }).success).toBe(false);
    },
  );
});
