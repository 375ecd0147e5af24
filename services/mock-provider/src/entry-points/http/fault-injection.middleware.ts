import { randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

import type { Logger } from '@cards/runtime';
import type { Request, RequestHandler, Response } from 'express';

import { decideFault, type FaultSettings, type ProviderOperation, type Random } from '../../domain/faults';
import type { ProviderStats } from './control.routes';
import { ProviderErrorCode, sendProviderError } from './provider-errors';

/** Waits `ms`, or less when `signal` aborts; never rejects. */
async function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0) {
    return;
  }
  await sleep(ms, undefined, { signal }).catch(() => undefined);
}

function operationOf(req: Request): ProviderOperation {
  if (req.method === 'POST' && req.path === '/cards') {
    return 'create';
  }
  if (req.method === 'POST' && /^\/cards\/[^/]+\/cancel$/.test(req.path)) {
    return 'cancel';
  }
  return req.method === 'GET' && req.path === '/cards' ? 'list' : 'other';
}

/**
 * Lets the route do its work, then replaces its 2xx answer by `replace(status, body)`; an error answer of the route
 * (a 4xx) goes out as it is. express's `res.json` is the routes' only way out, so it is the one place to wrap.
 */
function afterTheEffect(
  res: Response,
  replace: (status: number, body: unknown, send: (body: unknown) => Response) => void,
): void {
  const send = res.json.bind(res);
  res.json = (body: unknown) => {
    if (res.statusCode >= 300) {
      return send(body);
    }
    replace(res.statusCode, body, send);
    return res;
  };
}

/** Writes the first half of the answer with the full Content-Length, then closes the connection. */
function cutMidway(res: Response, body: unknown): void {
  const text = Buffer.from(JSON.stringify(body));
  res.writeHead(res.statusCode, { 'content-type': 'application/json', 'content-length': text.length });
  res.write(text.subarray(0, Math.floor(text.length / 2)), () => {
    res.destroy();
  });
}

/**
 * A 2xx body that breaks ProviderCardSchema the way a buggy provider might: last4 is not four digits, expYear is
 * missing. A listing wraps it, so the envelope is right and the card inside is not.
 */
function malformedBody(req: Request): object {
  const card = {
    id: `pc_${randomBytes(12).toString('hex')}`,
    reference: randomUUID(),
    color: 'black',
    cardholderRef: randomUUID(),
    status: 'ACTIVE',
    last4: '12x',
    expMonth: 1,
    createdAt: new Date().toISOString(),
    cancelledAt: null,
  };
  return req.method === 'GET' && req.path === '/cards' ? { data: [card] } : card;
}

/**
 * Injects the configured faults into the provider API (mounted on /v1 only, so health and control stay reliable).
 * Every fault answers without calling the routes, so a faulted request has no effect on the provider's cards.
 */
export function faultInjection(deps: {
  faults: FaultSettings;
  random: Random;
  hangMs: number;
  stats: ProviderStats;
  /** Aborted when the process stops: a stalled request then answers at once instead of holding up the drain. */
  shutdown: AbortSignal;
  logger: Logger;
}): RequestHandler {
  return async (req, res, next) => {
    /** Stalls, then answers 503; a caller that has given up frees the stall at once (nothing happens at its end). */
    const hang = async (): Promise<void> => {
      const clientGone = new AbortController();
      res.once('close', () => {
        clientGone.abort();
      });
      await pause(deps.hangMs, AbortSignal.any([deps.shutdown, clientGone.signal]));
      if (!res.destroyed) {
        sendProviderError(
          res,
          503,
          ProviderErrorCode.SERVICE_UNAVAILABLE,
          'The provider did not answer in time (injected hang).',
        );
      }
    };
    const operation = operationOf(req);
    const create = operation === 'create';
    if (create) {
      deps.stats.createRequests += 1;
    }
    const { delayMs, outcome } = decideFault(deps.faults.get(), operation, deps.random);
    if (outcome !== 'none') {
      deps.logger.debug({ method: req.method, path: req.originalUrl, outcome, delayMs }, 'fault injected');
    }
    if (outcome === 'outage') {
      sendProviderError(
        res,
        503,
        ProviderErrorCode.SERVICE_UNAVAILABLE,
        'The provider is down (injected outage).',
      );
      return;
    }
    // A caller that gives up during the latency does not stop the request, as with a real provider: the card may
    // still be created, which is the late success the saga's compensation exists for.
    await pause(delayMs, deps.shutdown);
    switch (outcome) {
      case 'none':
        next();
        return;
      case 'hang':
        await hang();
        return;
      case 'hang-after-effect':
        afterTheEffect(res, () => {
          void hang();
        });
        next();
        return;
      case 'malformed-after-effect':
        afterTheEffect(res, (_status, _body, send) => send(malformedBody(req)));
        next();
        return;
      case 'cut-list':
        afterTheEffect(res, (_status, body) => {
          cutMidway(res, body);
        });
        next();
        return;
      case 'error':
        sendProviderError(
          res,
          500,
          ProviderErrorCode.INTERNAL_ERROR,
          'The provider failed (injected error).',
        );
        return;
      case 'reject':
        sendProviderError(
          res,
          422,
          ProviderErrorCode.CARD_REJECTED,
          'The provider declined to issue the card (injected rejection).',
        );
        return;
      case 'malformed':
        res.status(create ? 201 : 200).json(malformedBody(req));
        return;
    }
  };
}
