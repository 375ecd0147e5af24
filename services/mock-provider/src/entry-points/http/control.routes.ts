import { ProviderFaultsSchema, type ProviderFaults } from '@cards/contracts';
import express, { Router } from 'express';

import type { FaultSettings } from '../../domain/faults';
import { describeIssues, ProviderErrorCode, sendProviderError } from './provider-errors';

/** Counters since the process started, for tests and operators (`GET /control/stats`). */
export interface ProviderStats {
  /** Every POST /v1/cards that reached the provider, faulted or not. */
  createRequests: number;
  /** Cards actually created (replays and faulted requests create none). */
  createdCards: number;
}

/**
 * The schema's fields carry defaults, and zod applies them even inside `.partial()`; a field the caller left out
 * must keep its current value instead, so only the fields present in the body are kept.
 */
const FaultChangesSchema = ProviderFaultsSchema.partial().strict();

function namedFields(parsed: Partial<ProviderFaults>, body: object): Partial<ProviderFaults> {
  const named = new Set(Object.keys(body));
  return Object.fromEntries(Object.entries(parsed).filter(([key]) => named.has(key)));
}

/** The control plane: fault settings and counters. Never subject to fault injection itself. */
export function controlRoutes(deps: { faults: FaultSettings; stats: ProviderStats }): Router {
  const router = Router();
  router.use(express.json({ limit: '16kb' }));

  router.get('/faults', (_req, res) => {
    res.json(deps.faults.get());
  });

  router.put('/faults', (req, res) => {
    const body: unknown = req.body;
    const parsed = FaultChangesSchema.safeParse(body);
    if (!parsed.success || typeof body !== 'object' || body === null) {
      sendProviderError(
        res,
        400,
        ProviderErrorCode.INVALID_REQUEST,
        parsed.success ? 'The body must be a JSON object.' : describeIssues(parsed.error),
      );
      return;
    }
    res.json(deps.faults.update(namedFields(parsed.data, body)));
  });

  router.post('/faults/reset', (_req, res) => {
    res.json(deps.faults.reset());
  });

  router.get('/stats', (_req, res) => {
    const stats: ProviderStats = {
      createRequests: deps.stats.createRequests,
      createdCards: deps.stats.createdCards,
    };
    res.json(stats);
  });

  return router;
}
