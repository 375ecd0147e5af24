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
import type { RecordedResponse } from '../../data-access/idempotency.repository';
import type { CardChangeWaiters } from '../../data-access/notifications';
import { isTerminal, type CardRecord } from '../../domain/card';
import { AppError } from '../../domain/errors';
import { requestCard, type RequestCardDeps } from '../../domain/request-card';
import type { LongPollSlots } from './abuse-limits';
import type { AdmissionControl } from './admission-control';
import { currentUser, requireJsonBody } from './auth';
import { etagOf, ifNoneMatchHits, toCardResponse } from './cards.mapper';
import { decodeCursor, encodeCursor } from './cursor';
import {
  parseIdempotencyKey,
  REPLAYED_HEADER,
  requestHash,
  runIdempotently,
  sendRecorded,
} from './idempotency';
import { parseOrThrow } from './validation';

export interface CardsRouteDeps {
  db: Knex;
  requestCardDeps: Omit<RequestCardDeps, 'newId' | 'now'>;
  waiters: CardChangeWaiters;
  longPollMaxSeconds: number;
  /** Bounds the long-polls each user holds open. */
  longPollSlots: LongPollSlots;
  /** Bounds the requests and long-polls this process holds (503 OVERLOADED past them). */
  admission: AdmissionControl;
  /** Refuses card requests over the per-client-address limit (429); the per-user one is requestCard's. */
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

/** A card this request just created (or replayed) is gone: cards are never deleted, so that is a bug. */
const cardNotFoundAfterCreate = (id: string): never => {
  throw new Error(`card ${id} vanished after it was accepted`);
};

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

/**
 * Takes a long-poll slot of the user and one of the process (429 LONG_POLL_LIMIT_REACHED, 503 OVERLOADED past
 * them), each given back when the response ends, however it ends (answered, failed, or the client went away).
 */
function holdLongPollSlots(deps: CardsRouteDeps, res: Response, userId: string): void {
  res.on('close', deps.longPollSlots.acquire(userId));
  deps.admission.holdLongPoll(res);
}

/**
 * Holds a request until `card` is worth answering (`unchanged` says it is not yet), `waitSeconds` pass, the client
 * goes away or the process shuts down; returns the card to answer with, or undefined when the client went away.
 * The caller holds the long-poll slots first (holdLongPollSlots).
 *
 * It subscribes before its first read, so a change in between is not missed; a wake-up hands it the card from the
 * one batched read of the notification (CardChangeWaiters), so it reads for itself only at the start, on a timeout,
 * and after a wake-up that changed nothing worth answering.
 */
async function waitForChange(
  deps: CardsRouteDeps,
  options: {
    res: Response;
    userId: string;
    cardId: string;
    waitSeconds: number;
    read: () => Promise<CardRecord>;
    unchanged: (card: CardRecord) => boolean;
    /**
     * The card as this request just wrote it, instead of a first read. A change committed after it, before the
     * subscription, would then be seen only at the timeout's read; the saga takes longer than that gap by far.
     */
    initial?: CardRecord | undefined;
  },
): Promise<CardRecord | undefined> {
  const { res, waitSeconds, read, unchanged } = options;
  const deadline = Date.now() + waitSeconds * 1000;
  const finished = new AbortController();
  const abandoned = new AbortController();
  res.on('close', () => {
    abandoned.abort();
  });
  const stopWaiting = AbortSignal.any([abandoned.signal, deps.shutdown, finished.signal]);
  const waitingOver = (): boolean => Date.now() >= deadline || stopWaiting.aborted;
  const subscribe = () => deps.waiters.wait(options.cardId, deadline - Date.now(), stopWaiting);
  try {
    let woken = waitSeconds > 0 ? subscribe() : undefined;
    let card = options.initial ?? (await read());
    while (woken && unchanged(card) && !waitingOver()) {
      card = (await woken) ?? (abandoned.signal.aborted ? card : await read());
      woken = undefined;
      if (unchanged(card) && !waitingOver()) {
        // Woken by a change not worth answering: subscribe again, then re-read, so nothing is missed.
        woken = subscribe();
        card = await read();
      }
    }
    return abandoned.signal.aborted ? undefined : card;
  } finally {
    finished.abort();
  }
}

/** The caller's own cards: create, read (with long-poll), list. Thin: each route parses, calls, answers. */
export function cardsRoutes(deps: CardsRouteDeps): Router {
  const router = Router();

  router.post('/v1/cards', requireJsonBody, deps.cardCreationRateLimit, async (req, res) => {
    const user = currentUser(res);
    const key = parseIdempotencyKey(req.headersDistinct['idempotency-key']);
    let created: CardRecord | undefined;
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
      created = card;
      return cardAccepted(card);
    };
    const answer = async (response: RecordedResponse, options: { replayed?: boolean } = {}) => {
      const requested = preferredWaitSeconds(req.get('prefer'));
      const location = response.headers['Location'];
      if (requested === undefined || response.status !== 202 || location === undefined) {
        sendRecorded(res, response, options);
        return;
      }
      // Prefer: wait=N: hold the answer until the card is terminal (200 with it) or N seconds pass (the 202).
      const waitSeconds = Math.min(requested, deps.longPollMaxSeconds);
      if (waitSeconds > 0) {
        try {
          holdLongPollSlots(deps, res, user.id);
        } catch {
          // The card is accepted: no slot to wait in must not turn that into a refusal. The preference is ignored.
          sendRecorded(res, response, options);
          return;
        }
      }
      res.set('Preference-Applied', `wait=${waitSeconds}`);
      const cardId = location.slice(cardLocation('').length);
      const card = await waitForChange(deps, {
        res,
        userId: user.id,
        cardId,
        waitSeconds,
        read: async () => (await findUserCard(cardId, user.id, deps.db)) ?? cardNotFoundAfterCreate(cardId),
        unchanged: (current) => !isTerminal(current.status),
        initial: options.replayed ? undefined : created,
      });
      if (!card) {
        return;
      }
      if (isTerminal(card.status)) {
        if (options.replayed) {
          res.set(REPLAYED_HEADER, 'true');
        }
        res.set('Location', location);
        sendCard(req, res, card, 200);
        return;
      }
      sendRecorded(res, response, options);
    };
    if (key === undefined) {
      await answer(await create());
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
    await answer(outcome.response, { replayed: outcome.replayed });
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
    res.set('Preference-Applied', `wait=${waitSeconds}`);
    if (waitSeconds > 0) {
      holdLongPollSlots(deps, res, user.id);
    }
    const etagAtStart = req.get('if-none-match');
    const card = await waitForChange(deps, {
      res,
      userId: user.id,
      cardId: id,
      waitSeconds,
      read,
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
