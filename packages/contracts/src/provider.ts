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

export const ProviderCardSchema = z.object({
  id: z.string().min(1).max(100),
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
  outage: z.boolean().default(false).describe('Every request answered 503.'),
});
export type ProviderFaults = z.infer<typeof ProviderFaultsSchema>;
