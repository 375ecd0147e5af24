import { AdminListCardsQuerySchema, CreateUserRequestSchema, ErrorCode, type User } from '@cards/contracts';
import { Router } from 'express';
import type { Knex } from 'knex';

import { listCards } from '../../data-access/cards.repository';
import { insertUser } from '../../data-access/users.repository';
import type { UserRecord } from '../../domain/card';
import { AppError } from '../../domain/errors';
import { requireAdmin, requireJsonBody } from './auth';
import { toCardResponse } from './cards.mapper';
import { decodeCursor, encodeCursor } from './cursor';
import { parseOrThrow } from './validation';

function toUserResponse(user: UserRecord): User {
  return {
    id: user.id,
    externalId: user.externalId,
    email: user.email,
    role: user.role,
    createdAt: user.createdAt.toISOString(),
  };
}

/** Operator routes; every one needs the admin role (from the database). */
export function adminRoutes(deps: { db: Knex }): Router {
  const router = Router();
  router.use('/v1/admin', requireAdmin);

  router.post('/v1/admin/users', requireJsonBody, async (req, res) => {
    const body = parseOrThrow(CreateUserRequestSchema, req.body, 'body');
    const user = await insertUser({ externalId: body.externalId, email: body.email, role: 'user' }, deps.db);
    if (!user) {
      throw new AppError({
        code: ErrorCode.USER_ALREADY_EXISTS,
        kind: 'conflict',
        message: 'User already exists',
        details: { detail: `A user with externalId ${JSON.stringify(body.externalId)} exists.` },
      });
    }
    res.status(201).json(toUserResponse(user));
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
        after: query.cursor ? decodeCursor(query.cursor) : undefined,
      },
      deps.db,
    );
    const last = cards.at(-1);
    res.set('Cache-Control', 'private, no-cache').json({
      data: cards.map((card) => ({ ...toCardResponse(card), userId: card.userId })),
      nextCursor: hasMore && last ? encodeCursor(last) : null,
    });
  });

  return router;
}
