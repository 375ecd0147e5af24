import {
  CardIdParamsSchema,
  CreateCardRequestSchema,
  ErrorCode,
  ListCardsQuerySchema,
  type CardList,
} from '@cards/contracts';
import { randomUUID } from 'node:crypto';

import type { Logger } from '@cards/platform';
import { Router, type Request, type RequestHandler, type Response } from 'express';
import type { Knex } from 'knex';

import { findUserCard, listCards } from '../../data-access/cards.repository';
import type { RecordedResponse } from '../../data-access/idempotency.repository';
import type { CardChangeWaiters } from '../../data-access/notifications';
import { isTerminal, type CardRecord } from '../../domain/card';
import { AppError } from '../../domain/errors';
import { requestCard, type RequestCardDeps } from '../../domain/request-card';
import type { LongPollSlots } from './abuse-limits';
import { currentUser, requireJsonBody } from './auth';
import { etagOf, ifNoneMatchHits, toCardResponse } from './cards.mapper';
import { decodeCursor, encodeCursor } from './cursor';
import { parseIdempotencyKey, requestHash, runIdempotently, sendRecorded } from './idempotency';
import { parseOrThrow } from './validation';

export interface CardsRouteDeps {
  db: Knex;
  requestCardDeps: Omit<RequestCardDeps, 'newId' | 'now'>;
  waiters: CardChangeWaiters;
  longPollMaxSeconds: number;
  /** Bounds the long-polls each user holds open. */
  longPollSlots: LongPollSlots;
  /** Refuses card requests over the abuse limits (429). */
  cardCreationRateLimit: RequestHandler;
  /** Aborted when the process shuts down: held long-polls answer at once with what they have. */
  shutdown: AbortSignal;
  /** How long an Idempotency-Key is remembered; an older one is treated as new. */
  idempotencyKeyTtlHours: number;
  logger: Logger;
}

/** Seconds a client should wait before its first poll: the saga usually finishes within about a second. */
const RETRY_AFTER_SECONDS = 1;

const cardNotFound = (): AppError =>
  new AppError({ code: ErrorCode.CARD_NOT_FOUND, kind: 'not-found', message: 'Card not found' });

/** Parses `Prefer: wait=N` (RFC 7240); undefined when absent or malformed (a preference may be ignored). */
export function preferredWaitSeconds(header: string | undefined): number | undefined {
  const match = header ? /(?:^|[,;\s])wait=(\d{1,6})(?:$|[,;\s])/i.exec(header) : null;
  return match?.[1] ? Number(match[1]) : undefined;
}

const cardLocation = (id: string): string => `/v1/cards/${id}`;

/** The 202 answer to a card request: the PENDING card, where to poll it, and when. */
function cardAccepted(card: CardRecord): RecordedResponse {
  const body = toCardResponse(card);
  return {
    status: 202,
    headers: {
      'Content-Type': 'application/json',
      'Cache-Control': 'private, no-cache',
      ETag: etagOf(body),
      Location: cardLocation(card.id),
      'Retry-After': String(RETRY_AFTER_SECONDS),
    },
    body,
  };
}

function sendCard(req: Request, res: Response, card: CardRecord, status: number): void {
  const body = toCardResponse(card);
  const etag = etagOf(body);
  res.set('ETag', etag).set('Cache-Control', 'private, no-cache');
  if (status === 200 && ifNoneMatchHits(req.get('if-none-match'), etag)) {
    res.status(304).end();
    return;
  }
  res.status(status).json(body);
}

/** The caller's own cards: create, read (with long-poll), list. Thin: each route parses, calls, answers. */
export function cardsRoutes(deps: CardsRouteDeps): Router {
  const router = Router();

  router.post('/v1/cards', requireJsonBody, deps.cardCreationRateLimit, async (req, res) => {
    const user = currentUser(res);
    const key = parseIdempotencyKey(req.headersDistinct['idempotency-key']);
    const create = async (cardId?: string): Promise<RecordedResponse> => {
      const body = parseOrThrow(CreateCardRequestSchema, req.body, 'body');
      const card = await requestCard(
        {
          userId: user.id,
          color: body.color,
          correlationId: String(res.locals['requestId']),
          traceparent: String(res.locals['traceparent']),
          cardId,
        },
        deps.requestCardDeps,
      );
      return cardAccepted(card);
    };
    if (key === undefined) {
      sendRecorded(res, await create());
      return;
    }
    // The reserved card id travels as the claim's Location; see idempotency.ts for why it is reserved up front.
    const reservedCardId = (location: string): string => location.slice(cardLocation('').length);
    const outcome = await runIdempotently({
      db: deps.db,
      logger: deps.logger,
      userId: user.id,
      key,
      requestHash: requestHash({ method: req.method, path: req.path, body: req.body as unknown }),
      ttlHours: deps.idempotencyKeyTtlHours,
      requestId: res.locals['requestId'],
      reserve: () => cardLocation(randomUUID()),
      execute: (location) => create(reservedCardId(location)),
      recover: async (location) => {
        const cardId = reservedCardId(location);
        const card = CardIdParamsSchema.safeParse({ id: cardId }).success
          ? await findUserCard(cardId, user.id, deps.db)
          : undefined;
        return card && cardAccepted(card);
      },
    });
    sendRecorded(res, outcome.response, { replayed: outcome.replayed });
  });

  router.get('/v1/cards/:id', async (req, res) => {
    const user = currentUser(res);
    const { id } = CardIdParamsSchema.safeParse(req.params).data ?? {};
    if (!id) {
      throw cardNotFound();
    }
    const read = async (): Promise<CardRecord> => {
      const card = await findUserCard(id, user.id, deps.db);
      if (!card) {
        throw cardNotFound();
      }
      return card;
    };
    const requested = preferredWaitSeconds(req.get('prefer'));
    if (requested === undefined) {
      sendCard(req, res, await read(), 200);
      return;
    }
    const waitSeconds = Math.min(requested, deps.longPollMaxSeconds);
    if (waitSeconds > 0) {
      // Given back when the response ends, however it ends (answered, failed, or the client went away).
      res.on('close', deps.longPollSlots.acquire(user.id));
    }
    res.set('Preference-Applied', `wait=${waitSeconds}`);
    const deadline = Date.now() + waitSeconds * 1000;
    const abandoned = new AbortController();
    res.on('close', () => {
      abandoned.abort();
    });
    const stopWaiting = AbortSignal.any([abandoned.signal, deps.shutdown]);
    let card = await read();
    const etagAtStart = req.get('if-none-match');
    // Wait while nothing worth answering happened: the card is still PENDING, or unchanged for the client's ETag.
    const unchanged = (current: CardRecord): boolean =>
      !isTerminal(current.status) || ifNoneMatchHits(etagAtStart, etagOf(toCardResponse(current)));
    while (unchanged(card) && Date.now() < deadline && !stopWaiting.aborted) {
      // Subscribe, then re-read: a change between the two reads cannot be missed.
      const woken = deps.waiters.wait(id, deadline - Date.now(), stopWaiting);
      card = await read();
      if (!unchanged(card)) {
        break;
      }
      await woken;
      card = await read();
    }
    if (abandoned.signal.aborted) {
      return;
    }
    sendCard(req, res, card, 200);
  });

  router.get('/v1/cards', async (req, res) => {
    const user = currentUser(res);
    const query = parseOrThrow(ListCardsQuerySchema, req.query, 'query');
    const { cards, hasMore } = await listCards(
      {
        userId: user.id,
        status: query.status,
        limit: query.limit,
        after: query.cursor ? decodeCursor(query.cursor) : undefined,
      },
      deps.db,
    );
    const last = cards.at(-1);
    const body: CardList = {
      data: cards.map(toCardResponse),
      nextCursor: hasMore && last ? encodeCursor(last) : null,
    };
    res.set('Cache-Control', 'private, no-cache').json(body);
  });

  return router;
}
