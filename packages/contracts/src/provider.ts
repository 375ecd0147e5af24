import { z } from 'zod';

import { CardColorSchema } from './cards';

/**
 * The card provider's HTTP API (mock-provider implements it; provider-worker calls it).
 *
 *   POST /v1/cards            Idempotency-Key: <our card id>   body ProviderCreateCardRequest → 201 ProviderCard
 *                             (the same key again → 200 with the same card)
 *   GET  /v1/cards/{id}       → ProviderCard
 *   GET  /v1/cards?reference=&createdFrom=&createdTo=   → ProviderCardList (for tests, operators, reconciliation)
 *   POST /v1/cards/{id}/cancel → ProviderCard (CANCELLED; idempotent)
 *   4xx/5xx answers carry ProviderError.
 */
export const ProviderCreateCardRequestSchema = z.strictObject({
  reference: z.uuid().describe('Our card id.'),
  color: CardColorSchema,
  cardholderRef: z.uuid(),
});
export type ProviderCreateCardRequest = z.infer<typeof ProviderCreateCardRequestSchema>;

/**
 * A provider's card id: 1–100 letters, digits and `._:-`, starting with a letter or digit. The provider is someone
 * else's system, so its ids are bounded here: an id with a NUL or a lone surrogate cannot be stored as PostgreSQL
 * text nor published in an event (it would fail a whole batch), and one with a slash or a space would change the
 * path of the cancel call it is put in.
 */
export const ProviderCardIdSchema = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$/,
    'must be 1–100 letters, digits and ._:- (starting alphanumeric)',
  );

export const ProviderCardSchema = z.object({
  id: ProviderCardIdSchema,
  reference: z.uuid(),
  color: CardColorSchema,
  cardholderRef: z.uuid(),
  status: z.enum(['ACTIVE', 'CANCELLED']),
  last4: z.string().regex(/^\d{4}$/),
  expMonth: z.number().int().min(1).max(12),
  expYear: z.number().int().min(2000).max(2100),
  createdAt: z.iso.datetime(),
  cancelledAt: z.iso.datetime().nullable(),
});
export type ProviderCard = z.infer<typeof ProviderCardSchema>;

export const ProviderCardListSchema = z.object({ data: z.array(ProviderCardSchema) });

export const ProviderErrorSchema = z.object({ error: z.string(), message: z.string() });

/** Fault injection of mock-provider, set from its environment and changed at runtime (`PUT /control/faults`). */
export const ProviderFaultsSchema = z.strictObject({
  latencyMs: z.number().int().min(0).max(60_000).default(0),
  errorRate: z.number().min(0).max(1).default(0).describe('Share of requests answered 5xx.'),
  rejectRate: z.number().min(0).max(1).default(0).describe('Share of create requests rejected with a 4xx.'),
  hangRate: z.number().min(0).max(1).default(0).describe('Share of requests that never answer in time.'),
  malformedRate: z.number().min(0).max(1).default(0).describe('Share of answers that break the contract.'),
  createdThenMalformedRate: z
    .number()
    .min(0)
    .max(1)
    .default(0)
    .describe('Share of creates that create the card, then answer a body that breaks the contract.'),
  createdThenHangRate: z
    .number()
    .min(0)
    .max(1)
    .default(0)
    .describe('Share of creates that create the card, then never answer in time.'),
  cancelledThenMalformedRate: z
    .number()
    .min(0)
    .max(1)
    .default(0)
    .describe('Share of cancels that cancel the card, then answer a body that breaks the contract.'),
  listCutRate: z
    .number()
    .min(0)
    .max(1)
    .default(0)
    .describe('Share of card lists whose answer breaks off midway (the connection closes inside the body).'),
  outage: z.boolean().default(false).describe('Every request answered 503.'),
});
export type ProviderFaults = z.infer<typeof ProviderFaultsSchema>;
