import { z } from 'zod';

import { FailureCode } from './error-codes';

/** Colours a card can be ordered in. */
export const CARD_COLORS = ['black', 'white', 'silver', 'gold', 'blue', 'pink'] as const;
export const CardColorSchema = z.enum(CARD_COLORS).describe('The colour of the physical card.');
export type CardColor = z.infer<typeof CardColorSchema>;

/** PENDING until the provider answers; ACTIVE and FAILED are terminal. */
export const CARD_STATUSES = ['PENDING', 'ACTIVE', 'FAILED'] as const;
export const CardStatusSchema = z.enum(CARD_STATUSES);
export type CardStatus = z.infer<typeof CardStatusSchema>;

export const FailureCodeSchema = z.enum([
  FailureCode.PROVIDER_REJECTED,
  FailureCode.PROVIDER_UNAVAILABLE,
  FailureCode.PROVIDER_CONTRACT_VIOLATION,
  FailureCode.TIMED_OUT,
]);

const IsoTimestamp = z.iso.datetime({ offset: false }).describe('ISO 8601, UTC.');

/** `POST /v1/cards` body. Unknown fields are refused, so a typo never silently orders the default. */
export const CreateCardRequestSchema = z.strictObject({ color: CardColorSchema });
export type CreateCardRequest = z.infer<typeof CreateCardRequestSchema>;

/** A card as the API returns it. Never a full card number or CVV: only last4 and expiry. */
export const CardSchema = z.object({
  id: z.uuid(),
  color: CardColorSchema,
  status: CardStatusSchema,
  last4: z
    .string()
    .regex(/^\d{4}$/)
    .nullable(),
  expMonth: z.number().int().min(1).max(12).nullable(),
  expYear: z.number().int().min(2000).max(2100).nullable(),
  failureCode: FailureCodeSchema.nullable(),
  failureMessage: z.string().nullable(),
  createdAt: IsoTimestamp,
  updatedAt: IsoTimestamp,
  activatedAt: IsoTimestamp.nullable(),
});
export type Card = z.infer<typeof CardSchema>;

export const CardListSchema = z.object({
  data: z.array(CardSchema),
  nextCursor: z.string().nullable().describe('Pass as `cursor` for the next page; null on the last page.'),
});
export type CardList = z.infer<typeof CardListSchema>;

/** `GET /v1/cards` query. */
export const ListCardsQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().min(1).max(200).optional(),
  status: CardStatusSchema.optional(),
});
export type ListCardsQuery = z.infer<typeof ListCardsQuerySchema>;

/** The filters operators narrow every card by (list and summary alike). */
const adminCardFilters = {
  status: CardStatusSchema.optional(),
  userId: z.uuid().optional(),
  color: CardColorSchema.optional(),
  createdFrom: z.iso.datetime({ offset: true }).optional().describe('Inclusive lower bound of createdAt.'),
  createdTo: z.iso.datetime({ offset: true }).optional().describe('Exclusive upper bound of createdAt.'),
};

/** `GET /v1/admin/cards` query: the same, across every user, with more filters for operators. */
export const AdminListCardsQuerySchema = ListCardsQuerySchema.extend({
  ...adminCardFilters,
  order: z
    .enum(['desc', 'asc'])
    .default('desc')
    .describe(
      'By createdAt, then id: desc (newest first, the default) or asc. A cursor pages on in its order.',
    ),
});
export type AdminListCardsQuery = z.infer<typeof AdminListCardsQuerySchema>;

/** An admin card view adds the owner. */
export const AdminCardSchema = CardSchema.extend({ userId: z.uuid() });
export const AdminCardListSchema = z.object({
  data: z.array(AdminCardSchema),
  nextCursor: z.string().nullable(),
});

/** `GET /v1/admin/cards/summary` query: the list's filters, no paging. */
export const AdminCardsSummaryQuerySchema = z.strictObject(adminCardFilters);
export type AdminCardsSummaryQuery = z.infer<typeof AdminCardsSummaryQuerySchema>;

export const CardIdParamsSchema = z.object({ id: z.uuid() });

/** `POST /v1/admin/users` body. */
export const CreateUserRequestSchema = z.strictObject({
  externalId: z
    .string()
    .min(1)
    .max(200)
    .regex(/^[\x21-\x7E]+$/, 'must be printable ASCII without spaces'),
  email: z.email().max(320),
});
export type CreateUserRequest = z.infer<typeof CreateUserRequestSchema>;

export const UserSchema = z.object({
  id: z.uuid(),
  externalId: z.string(),
  email: z.string(),
  role: z.enum(['user', 'admin']),
  createdAt: IsoTimestamp,
});
export type User = z.infer<typeof UserSchema>;
