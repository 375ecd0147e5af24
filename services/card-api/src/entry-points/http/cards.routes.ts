import {
  CardIdParamsSchema,
  CreateCardRequestSchema,
  ErrorCode,
  ListCardsQuerySchema,
  type CardList,
} from '@cards/contracts';
import { randomUUID } from 'node:crypto';

import type { Logger } from '@cards/runtime';
import { Router, type Request, type RequestHandler, type Response } from 'express';
import type { Knex } from 'knex';

import { findUserCard, listCards } from '../../data-access/cards.repository';
import { idempotencyStore, type RecordedResponse } from '../../data-access/idempotency.repository';
import { isTerminal, type CardRecord } from '../../domain/card';
import { AppError } from '@cards/contracts';
import { requestCard, type CardRequest, type RequestCardDeps } from '../../domain/request-card';
import { currentUser, requireJsonBody } from './auth';
import { etagOf, ifNoneMatchHits, toCardResponse } from './cards.mapper';
import { decodeCursor, encodeCursor } from './cursor';
import { idempotently, REPLAYED_HEADER, sendRecorded, type IdempotentOutcome } from './idempotency';
import {
  holdLongPollSlots,
  preferredWaitSeconds,
  readWithPreferredWait,
  waitForChange,
  type LongPollDeps,
} from './long-poll';
import { parseOrThrow } from './validation';

export interface CardsRouteDeps extends LongPollDeps {
  db: Knex;
  requestCardDeps: Omit<RequestCardDeps, 'newId' | 'now'>;
  /** Refuses card requests over the per-client-address limit (429); the per-user one is requestCard's. */
  cardCreationRateLimit: RequestHandler;
  /** How long an Idempotency-Key is remembered; an older one is treated as new. */
  idempotencyKeyTtlHours: number;
  logger: Logger;
}

/** Seconds a client should wait before its first poll: the saga usually finishes within about a second. */
const RETRY_AFTER_SECONDS = 1;

const cardNotFound = (): never => {
  throw new AppError({ code: ErrorCode.CARD_NOT_FOUND, kind: 'not-found', message: 'Card not found' });
};

const cardLocation = (id: string): string => `/v1/cards/${id}`;
/** The card id a Location names (the reservation of an idempotent card request travels as its Location). */
const cardIdOf = (location: string): string => location.slice(cardLocation('').length);

/** A card this request just created (or replayed) is gone: cards are never deleted, so that is a bug. */
const cardNotFoundAfterCreate = (id: string): never => {
  throw new Error(`card ${id} vanished after it was accepted`);
};

/** The caller's own cards: create, read (with long-poll), list. Thin: each route parses, calls, answers. */
export function cardsRoutes(deps: CardsRouteDeps): Router {
  const router = Router();
  const idempotency = {
    store: idempotencyStore(deps.db),
    logger: deps.logger,
    ttlHours: deps.idempotencyKeyTtlHours,
  };

  router.post('/v1/cards', requireJsonBody, deps.cardCreationRateLimit, async (req, res) => {
    const user = currentUser(res);
    let created: CardRecord | undefined;
    // The card id is reserved before the card is requested: see idempotency.ts for why.
    const outcome = await idempotently(req, res, user.id, idempotency, {
      reserve: () => cardLocation(randomUUID()),
      execute: async (location) => {
        created = await requestCard(
          cardRequestOf(req, res, user.id, cardIdOf(location)),
          deps.requestCardDeps,
        );
        return cardAccepted(created);
      },
      recover: async (location) => {
        const card = await findReservedCard(cardIdOf(location), user.id, deps.db);
        return card && cardAccepted(card);
      },
    });
    await answerCardRequest(deps, req, res, { ...outcome, userId: user.id, created });
  });

  router.get('/v1/cards/:id', async (req, res) => {
    const user = currentUser(res);
    const cardId = CardIdParamsSchema.safeParse(req.params).data?.id ?? cardNotFound();
    const etagAtStart = req.get('if-none-match');
    const card = await readWithPreferredWait(deps, req, res, user.id, {
      cardId,
      read: async () => (await findUserCard(cardId, user.id, deps.db)) ?? cardNotFound(),
      // Wait while nothing worth answering happened: the card is still PENDING, or unchanged for the client's ETag.
      unchanged: (current) =>
        !isTerminal(current.status) || ifNoneMatchHits(etagAtStart, etagOf(toCardResponse(current))),
    });
    if (card) {
      sendCard(req, res, card, 200);
    }
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

/** The use case's input from a card request; the body is parsed here, so a bad one is an answer the key records. */
function cardRequestOf(req: Request, res: Response, userId: string, cardId: string): CardRequest {
  const body = parseOrThrow(CreateCardRequestSchema, req.body, 'body');
  return {
    userId,
    color: body.color,
    correlationId: String(res.locals['requestId']),
    traceparent: String(res.locals['traceparent']),
    cardId,
  };
}

/** The card a crashed predecessor may have created under a reservation; undefined when it did not. */
async function findReservedCard(cardId: string, userId: string, db: Knex): Promise<CardRecord | undefined> {
  return CardIdParamsSchema.safeParse({ id: cardId }).success ? findUserCard(cardId, userId, db) : undefined;
}

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
  if (card.status === 'PENDING') {
    // When to look again, as the 202 of the request said.
    res.set('Retry-After', String(RETRY_AFTER_SECONDS));
  }
  if (status === 200 && ifNoneMatchHits(req.get('if-none-match'), etag)) {
    res.status(304).end();
    return;
  }
  res.status(status).json(body);
}

/**
 * Answers a card request: its (recorded) 202, or with `Prefer: wait=N` the card once terminal (200) if that comes
 * within N seconds. A request that finds no long-poll slot still gets its 202: the card is accepted, and no slot to
 * wait in must not turn that into a refusal.
 */
async function answerCardRequest(
  deps: CardsRouteDeps,
  req: Request,
  res: Response,
  outcome: IdempotentOutcome & { userId: string; created: CardRecord | undefined },
): Promise<void> {
  const { response, replayed, userId } = outcome;
  const requested = preferredWaitSeconds(req.get('prefer'));
  const location = response.headers['Location'];
  if (requested === undefined || response.status !== 202 || location === undefined) {
    sendRecorded(res, response, { replayed });
    return;
  }
  const waitSeconds = Math.min(requested, deps.longPollMaxSeconds);
  if (waitSeconds > 0) {
    try {
      holdLongPollSlots(deps, res, userId);
    } catch {
      sendRecorded(res, response, { replayed });
      return;
    }
  }
  res.set('Preference-Applied', `wait=${waitSeconds}`);
  const cardId = cardIdOf(location);
  const card = await waitForChange(deps, {
    res,
    cardId,
    waitSeconds,
    read: async () => (await findUserCard(cardId, userId, deps.db)) ?? cardNotFoundAfterCreate(cardId),
    unchanged: (current) => !isTerminal(current.status),
    initial: replayed ? undefined : outcome.created,
  });
  if (!card) {
    return;
  }
  if (!isTerminal(card.status)) {
    sendRecorded(res, response, { replayed });
    return;
  }
  if (replayed) {
    res.set(REPLAYED_HEADER, 'true');
  }
  res.set('Location', location);
  sendCard(req, res, card, 200);
}
