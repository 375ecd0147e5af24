import { ProviderCreateCardRequestSchema, type ProviderCard } from '@cards/contracts';
import { Router } from 'express';
import { z } from 'zod';

import {
  cancelCard,
  issueCard,
  type ProviderCardRecord,
  type ProviderCardStore,
} from '../../domain/card-issuing';
import type { ProviderStats } from './control.routes';
import { describeIssues, ProviderErrorCode, sendProviderError } from './provider-errors';

/** 1–200 printable ASCII characters: what a caller can put in a header and the key column holds. */
const IDEMPOTENCY_KEY = /^[\x20-\x7E]{1,200}$/;

/** `GET /v1/cards` query; the contract leaves it open, so the provider defines it (limit up to 1000). */
const ListQuerySchema = z.strictObject({
  reference: z.uuid().optional(),
  status: z.enum(['ACTIVE', 'CANCELLED']).optional(),
  createdFrom: z.iso.datetime({ offset: true }).optional(),
  createdTo: z.iso.datetime({ offset: true }).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

/** Lists the fields the contract allows, so nothing stored (idempotency key, fingerprint) leaks into an answer. */
function toProviderCard(card: ProviderCardRecord): ProviderCard {
  return {
    id: card.id,
    reference: card.reference,
    color: card.color,
    cardholderRef: card.cardholderRef,
    status: card.status,
    last4: card.last4,
    expMonth: card.expMonth,
    expYear: card.expYear,
    createdAt: card.createdAt.toISOString(),
    cancelledAt: card.cancelledAt?.toISOString() ?? null,
  };
}

/** The provider's card API (`/v1/cards…`), as the comment of packages/contracts/src/provider.ts describes it. */
export function cardsRoutes(deps: { store: ProviderCardStore; stats: ProviderStats }): Router {
  const router = Router();

  router.post('/cards', async (req, res) => {
    const idempotencyKey = req.get('idempotency-key');
    if (idempotencyKey === undefined || idempotencyKey === '') {
      sendProviderError(
        res,
        400,
        ProviderErrorCode.MISSING_IDEMPOTENCY_KEY,
        'The Idempotency-Key header is required.',
      );
      return;
    }
    if (!IDEMPOTENCY_KEY.test(idempotencyKey)) {
      sendProviderError(
        res,
        400,
        ProviderErrorCode.INVALID_IDEMPOTENCY_KEY,
        'The Idempotency-Key header must be 1 to 200 printable ASCII characters.',
      );
      return;
    }
    const parsed = ProviderCreateCardRequestSchema.safeParse(req.body);
    if (!parsed.success) {
      sendProviderError(res, 400, ProviderErrorCode.INVALID_REQUEST, describeIssues(parsed.error));
      return;
    }
    const result = await issueCard({ idempotencyKey, request: parsed.data }, { store: deps.store });
    switch (result.outcome) {
      case 'created':
        deps.stats.createdCards += 1;
        res.status(201).json(toProviderCard(result.card));
        return;
      case 'replayed':
        res.status(200).json(toProviderCard(result.card));
        return;
      case 'key-reused':
        sendProviderError(
          res,
          422,
          ProviderErrorCode.IDEMPOTENCY_KEY_REUSED,
          'This Idempotency-Key was used for a different request.',
        );
        return;
    }
  });

  router.get('/cards', async (req, res) => {
    const parsed = ListQuerySchema.safeParse(req.query);
    if (!parsed.success) {
      sendProviderError(res, 400, ProviderErrorCode.INVALID_REQUEST, describeIssues(parsed.error));
      return;
    }
    const query = parsed.data;
    const cards = await deps.store.list({
      ...(query.reference !== undefined && { reference: query.reference }),
      ...(query.status !== undefined && { status: query.status }),
      ...(query.createdFrom !== undefined && { createdFrom: new Date(query.createdFrom) }),
      ...(query.createdTo !== undefined && { createdTo: new Date(query.createdTo) }),
      limit: query.limit,
    });
    res.json({ data: cards.map(toProviderCard) });
  });

  router.get('/cards/:id', async (req, res) => {
    const card = await deps.store.findById(req.params.id);
    if (!card) {
      sendProviderError(res, 404, ProviderErrorCode.CARD_NOT_FOUND, 'No card has this id.');
      return;
    }
    res.json(toProviderCard(card));
  });

  router.post('/cards/:id/cancel', async (req, res) => {
    const card = await cancelCard(req.params.id, { store: deps.store });
    if (!card) {
      sendProviderError(res, 404, ProviderErrorCode.CARD_NOT_FOUND, 'No card has this id.');
      return;
    }
    res.json(toProviderCard(card));
  });

  return router;
}
