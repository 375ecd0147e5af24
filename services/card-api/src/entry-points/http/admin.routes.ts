import {
  AdminCardsSummaryQuerySchema,
  AdminListCardsQuerySchema,
  AdminListUsersQuerySchema,
  AuditQuerySchema,
  CardIdParamsSchema,
  CreateUserRequestSchema,
  DeadLettersQuerySchema,
  deadLetterTopic,
  ErrorCode,
  ReplayDeadLetterRequestSchema,
  type AdminCardsSummary,
  type AuditList,
  type DeadLetterList,
  type PipelineStatus,
  type ReplayDeadLetterResponse,
  type TopicNames,
  type User,
  type UserList,
} from '@cards/contracts';
import { Router, type RequestHandler, type Response } from 'express';
import type { Knex } from 'knex';

import type { AdminKafka } from '../../data-access/admin-kafka';
import { auditLog, listAudit } from '../../data-access/audit.repository';
import { cardViewSources } from '../../data-access/card-view.repository';
import { listCards, summarizeCards } from '../../data-access/cards.repository';
import { deadLetterSummary } from '../../data-access/dead-letters';
import { findAdvisoryLockHolder, listQuarantined, outboxBacklog } from '../../data-access/outbox.repository';
import { RELAY_LOCK_KEY } from '../../data-access/relay-lease';
import { listUsers, userCreationPorts } from '../../data-access/users.repository';
import type { Actor } from '../../domain/audit';
import type { UserRecord } from '../../domain/card';
import { cardViewDocument, loadCardView } from '../../domain/card-view';
import { createUser } from '../../domain/create-user';
import { AppError } from '@cards/contracts';
import { replayDeadLetters, type ReplaySelection } from '../../domain/replay-dead-letters';
import { currentUser, requireAdmin, requireJsonBody } from './auth';
import { toCardResponse } from './cards.mapper';
import { decodeCursor, decodeIdCursor, encodeCursor, encodeIdCursor } from './cursor';
import { parseOrThrow } from './validation';

/** What the operator routes need beyond the database. */
export interface AdminDeps {
  topics: TopicNames;
  /** A PENDING card older than this counts as stuck in the summary. */
  stuckPendingSeconds: number;
  kafka: AdminKafka;
}

function toUserResponse(user: UserRecord): User {
  return {
    id: user.id,
    externalId: user.externalId,
    email: user.email,
    role: user.role,
    createdAt: user.createdAt.toISOString(),
  };
}

/** Admin answers are about the whole system and change all the time: never cached by anyone but the caller. */
export const adminNoCache: RequestHandler = (_req, res, next) => {
  res.set('Cache-Control', 'private, no-cache');
  next();
};

const badRequest = (detail: string, path: string, message: string): AppError =>
  new AppError({
    code: ErrorCode.VALIDATION_FAILED,
    kind: 'malformed',
    message: 'Bad Request',
    details: { detail, errors: [{ path, message }] },
  });

/** Kafka did not answer (down, slow, a topic missing): the request may succeed later. */
const kafkaUnavailable = (error: unknown): AppError =>
  new AppError({
    code: ErrorCode.SERVICE_UNAVAILABLE,
    kind: 'unavailable',
    message: 'Service Unavailable',
    details: { detail: `Kafka could not be read: ${error instanceof Error ? error.message : String(error)}` },
    cause: error,
  });

/** A replay's failure as the API answers it: ours (a selection naming nothing is 404) as it is, any other Kafka's. */
function asDeadLetterProblem(error: unknown): never {
  throw error instanceof AppError ? error : kafkaUnavailable(error);
}

/** Who did it, for the audit log: the caller (never their token). */
function actor(res: Response): Actor {
  const user = currentUser(res);
  const requestId: unknown = res.locals['requestId'];
  return {
    actorUserId: user.id,
    actorExternalId: user.externalId,
    requestId: typeof requestId === 'string' ? requestId : null,
  };
}

/** Operator routes; every one needs the admin role (from the database). */
export function adminRoutes(deps: { db: Knex; admin: AdminDeps }): Router {
  const router = Router();
  const { db, admin } = deps;
  router.use('/v1/admin', adminNoCache, requireAdmin);

  /** The project's topics and their dead-letter topics: the only ones the dead-letter routes accept. */
  const knownTopics = new Set(
    [admin.topics.provisioningCommands, admin.topics.provisioningResults].flatMap((topic) => [
      topic,
      deadLetterTopic(topic),
    ]),
  );
  const knownTopic = (topic: string, path: string): string => {
    if (!knownTopics.has(topic)) {
      throw badRequest(
        `Unknown topic; use one of ${[...knownTopics].join(', ')}.`,
        path,
        'not a topic of this system',
      );
    }
    return topic;
  };

  router.get('/v1/admin/me', (_req, res) => {
    res.json(toUserResponse(currentUser(res)));
  });

  router.post('/v1/admin/users', requireJsonBody, async (req, res) => {
    const body = parseOrThrow(CreateUserRequestSchema, req.body, 'body');
    const user = await createUser({ ...body, role: 'user' }, actor(res), userCreationPorts(db));
    res.status(201).json(toUserResponse(user));
  });

  router.get('/v1/admin/users', async (req, res) => {
    const query = parseOrThrow(AdminListUsersQuerySchema, req.query, 'query');
    const { users, hasMore } = await listUsers(
      { limit: query.limit, after: query.cursor ? decodeCursor(query.cursor) : undefined },
      db,
    );
    const last = users.at(-1);
    const body: UserList = {
      data: users.map(toUserResponse),
      nextCursor: hasMore && last ? encodeCursor(last) : null,
    };
    res.json(body);
  });

  router.get('/v1/admin/cards', async (req, res) => {
    const query = parseOrThrow(AdminListCardsQuerySchema, req.query, 'query');
    const { cards, hasMore } = await listCards(
      {
        userId: query.userId,
        status: query.status,
        color: query.color,
        createdFrom: query.createdFrom ? new Date(query.createdFrom) : undefined,
        createdTo: query.createdTo ? new Date(query.createdTo) : undefined,
        limit: query.limit,
        order: query.order,
        after: query.cursor ? decodeCursor(query.cursor) : undefined,
      },
      db,
    );
    const last = cards.at(-1);
    res.json({
      data: cards.map((card) => ({ ...toCardResponse(card), userId: card.userId })),
      nextCursor: hasMore && last ? encodeCursor(last) : null,
    });
  });

  // Before /v1/admin/cards/:cardId, which would otherwise take "summary" for a card id.
  router.get('/v1/admin/cards/summary', async (req, res) => {
    const query = parseOrThrow(AdminCardsSummaryQuerySchema, req.query, 'query');
    const figures = await summarizeCards(
      {
        userId: query.userId,
        status: query.status,
        color: query.color,
        createdFrom: query.createdFrom ? new Date(query.createdFrom) : undefined,
        createdTo: query.createdTo ? new Date(query.createdTo) : undefined,
      },
      admin.stuckPendingSeconds,
      db,
    );
    const body: AdminCardsSummary = {
      counts: figures.counts,
      total: figures.counts.PENDING + figures.counts.ACTIVE + figures.counts.FAILED,
      stuckPending: figures.stuckPending,
      stuckPendingAfterSeconds: admin.stuckPendingSeconds,
      now: figures.now.toISOString(),
    };
    res.json(body);
  });

  router.get('/v1/admin/cards/:cardId', async (req, res) => {
    const { cardId } = req.params;
    if (!CardIdParamsSchema.safeParse({ id: cardId }).success) {
      throw badRequest('The card id must be a UUID.', 'params.cardId', 'must be a UUID');
    }
    const view = await loadCardView(cardId, cardViewSources(db));
    if (!view) {
      throw new AppError({ code: ErrorCode.CARD_NOT_FOUND, kind: 'not-found', message: 'Card not found' });
    }
    res.json(cardViewDocument(view));
  });

  router.get('/v1/admin/pipeline', async (_req, res) => {
    const [backlog, quarantined, holder] = await Promise.all([
      outboxBacklog(db),
      listQuarantined(db, { limit: 20 }),
      findAdvisoryLockHolder(RELAY_LOCK_KEY, db),
    ]);
    const relay = {
      holder: holder
        ? {
            applicationName: holder.applicationName,
            clientAddr: holder.clientAddr,
            since: holder.backendStart?.toISOString() ?? null,
          }
        : null,
    };
    const checkedAt = new Date().toISOString();
    const outbox = {
      backlog: backlog.pending,
      oldestAgeSeconds: backlog.oldestCreatedAt === null ? null : backlog.oldestAgeSeconds,
      failingRows: backlog.failing,
      quarantinedRows: backlog.quarantined,
      quarantined: quarantined.map((row) => ({
        id: row.id,
        type: row.type,
        cardId: row.key,
        attempts: row.attempts,
        lastError: row.lastError,
        quarantinedAt: row.quarantinedAt.toISOString(),
        waitingBehind: row.waitingBehind,
      })),
    };
    let body: PipelineStatus;
    try {
      const figures = await admin.kafka.inspect();
      body = { checkedAt, outbox, relay, kafka: { available: true, error: null }, ...figures };
    } catch (error) {
      body = {
        checkedAt,
        outbox,
        relay,
        kafka: { available: false, error: error instanceof Error ? error.message : String(error) },
        consumers: [],
        deadLetters: [],
      };
    }
    res.json(body);
  });

  router.get('/v1/admin/dead-letters', async (req, res) => {
    const query = parseOrThrow(DeadLettersQuerySchema, req.query, 'query');
    const topic = knownTopic(query.topic, 'query.topic');
    const letters = await admin.kafka.readDeadLetters(topic).catch((error: unknown) => {
      throw kafkaUnavailable(error);
    });
    const body: DeadLetterList = { data: letters.map(deadLetterSummary) };
    res.json(body);
  });

  router.post('/v1/admin/dead-letters/replay', requireJsonBody, async (req, res) => {
    const body = parseOrThrow(ReplayDeadLetterRequestSchema, req.body, 'body');
    const topic = knownTopic(body.topic, 'body.topic');
    const selection: ReplaySelection =
      'eventId' in body ? { id: body.eventId } : { offset: body.offset, partition: body.partition };
    const outcome = await replayDeadLetters({ topic, selection }, actor(res), {
      deadLetters: {
        replay: (from, chosen) => admin.kafka.replay(from, chosen).catch(asDeadLetterProblem),
      },
      audit: auditLog(db),
    });
    const answer: ReplayDeadLetterResponse = {
      topic: outcome.topic,
      replayed: outcome.replayed.map((letter) => ({
        partition: letter.partition,
        offset: letter.offset,
        ceId: letter.ceId,
        ceType: letter.ceType,
      })),
    };
    res.json(answer);
  });

  router.get('/v1/admin/audit', async (req, res) => {
    const query = parseOrThrow(AuditQuerySchema, req.query, 'query');
    const { entries, hasMore } = await listAudit(
      { limit: query.limit, before: query.cursor ? decodeIdCursor(query.cursor) : undefined },
      db,
    );
    const last = entries.at(-1);
    const body: AuditList = {
      data: entries.map((entry) => ({
        id: entry.id,
        at: entry.at.toISOString(),
        actor: { userId: entry.actorUserId, externalId: entry.actorExternalId },
        action: entry.action,
        target: entry.target,
        requestId: entry.requestId,
        details: entry.details,
      })),
      nextCursor: hasMore && last ? encodeIdCursor(last.id) : null,
    };
    res.json(body);
  });

  return router;
}
