import { OpenApiGeneratorV31, OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';

import {
  AdminCardListSchema,
  AdminListCardsQuerySchema,
  CardListSchema,
  CardSchema,
  CreateCardRequestSchema,
  CreateUserRequestSchema,
  ListCardsQuerySchema,
  UserSchema,
} from './cards';
import { PROBLEM_CONTENT_TYPE, ProblemSchema } from './problem';

type OpenApiDocument = ReturnType<OpenApiGeneratorV31['generateDocument']>;

/**
 * The OpenAPI 3.1 document of the card API, generated from the same zod schemas the code validates with, so it
 * cannot drift from what the API does. `packages/contracts/openapi.json` is its committed copy; a test compares.
 */
export function buildOpenApiDocument(): OpenApiDocument {
  const registry = new OpenAPIRegistry();
  const bearer = registry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
  });
  const Card = CardSchema.meta({ id: 'Card' });
  const CardList = CardListSchema.meta({ id: 'CardList' });
  const Problem = ProblemSchema.meta({ id: 'Problem' });
  const User = UserSchema.meta({ id: 'User' });
  const AdminCardList = AdminCardListSchema.meta({ id: 'AdminCardList' });
  const CreateCardRequest = CreateCardRequestSchema.meta({ id: 'CreateCardRequest' });
  const CreateUserRequest = CreateUserRequestSchema.meta({ id: 'CreateUserRequest' });

  const problem = (description: string) => ({
    description,
    content: { [PROBLEM_CONTENT_TYPE]: { schema: Problem } },
  });
  const json = <T extends z.ZodType>(schema: T) => ({ 'application/json': { schema } });
  const retryAfter = (description: string) => ({
    'Retry-After': { schema: { type: 'integer' as const }, description },
  });
  const authErrors = {
    401: problem('Missing or invalid token (UNAUTHENTICATED).'),
    403: problem('The token names no known user, or the route needs the admin role (FORBIDDEN).'),
    503: {
      ...problem(
        'The database is saturated or unreachable, or the token keys could not be fetched (SERVICE_UNAVAILABLE).',
      ),
      headers: retryAfter('Seconds before retrying.'),
    },
  };
  const cardHeaders = {
    ETag: { schema: { type: 'string' as const }, description: 'Changes when the card does.' },
  };
  const replayedHeader = {
    'Idempotent-Replayed': {
      schema: { type: 'string' as const, enum: ['true'] },
      description:
        'Present (`true`) when this is the recorded answer of an earlier request with the same Idempotency-Key.',
    },
  };
  const security = [{ [bearer.name]: [] }];
  const cardId = z.object({ id: z.uuid() });

  registry.registerPath({
    method: 'post',
    path: '/v1/cards',
    summary: 'Request a card',
    description:
      'Stores the card as PENDING and asks the provider for it asynchronously. Poll the Location (or long-poll ' +
      'with `Prefer: wait=N`) until the status is ACTIVE or FAILED.',
    security,
    request: {
      headers: z.object({
        'Idempotency-Key': z
          .string()
          .min(1)
          .max(255)
          .regex(/^[\x20-\x7E]+$/)
          .optional()
          .describe(
            'Makes a retry safe: 1 to 255 printable ASCII characters, scoped to the caller, remembered for ' +
              'IDEMPOTENCY_KEY_TTL_HOURS (24 h by default). The same key and body replay the first answer (status, ' +
              'body, Location, Retry-After, ETag; 2xx and 4xx alike) with `Idempotent-Replayed: true` and create ' +
              'nothing; the same key with another body is 422 IDEMPOTENCY_KEY_REUSED; while the first request ' +
              'still runs, 409 IDEMPOTENCY_REQUEST_IN_PROGRESS. A 5xx is not recorded: retry it with the same key.',
          ),
      }),
      body: { required: true, content: json(CreateCardRequest) },
    },
    responses: {
      202: {
        description: 'Accepted; the card is PENDING.',
        headers: {
          ...cardHeaders,
          Location: { schema: { type: 'string' }, description: 'The card URL.' },
          'Retry-After': { schema: { type: 'integer' }, description: 'Seconds before the first poll.' },
          ...replayedHeader,
        },
        content: json(Card),
      },
      400: problem(
        'Malformed JSON (MALFORMED_JSON), or a malformed Idempotency-Key (IDEMPOTENCY_KEY_INVALID).',
      ),
      ...authErrors,
      409: {
        ...problem(
          'The user holds the maximum of cards that are not FAILED (CARD_LIMIT_REACHED, recorded and replayed ' +
            'under an Idempotency-Key), or a request with this Idempotency-Key is still running ' +
            '(IDEMPOTENCY_REQUEST_IN_PROGRESS: retry after Retry-After seconds for its answer).',
        ),
        headers: {
          'Retry-After': {
            schema: { type: 'integer' },
            description: 'With IDEMPOTENCY_REQUEST_IN_PROGRESS: seconds before retrying.',
          },
          ...replayedHeader,
        },
      },
      413: problem('Body too large (PAYLOAD_TOO_LARGE).'),
      415: problem('Body is not application/json (UNSUPPORTED_MEDIA_TYPE).'),
      429: {
        ...problem(
          'Too many card requests from this user or this client address in the window, counted across every ' +
            'replica (RATE_LIMITED).',
        ),
        headers: retryAfter('Seconds until the window lets a request through.'),
      },
      422: {
        ...problem(
          'Validation failed (VALIDATION_FAILED), with the failing fields (recorded and replayed under an ' +
            'Idempotency-Key); or the Idempotency-Key was used with a different body (IDEMPOTENCY_KEY_REUSED).',
        ),
        headers: replayedHeader,
      },
    },
  });

  registry.registerPath({
    method: 'get',
    path: '/v1/cards/{id}',
    summary: 'Read one of your cards',
    description:
      '`Prefer: wait=N` (N ≤ 30) holds the request until the card is terminal (or differs from `If-None-Match`) ' +
      'or N seconds pass, and answers `Preference-Applied`.',
    security,
    request: {
      params: cardId,
      headers: z.object({
        Prefer: z.string().optional().describe('wait=N: long-poll up to N seconds.'),
        'If-None-Match': z.string().optional(),
      }),
    },
    responses: {
      200: {
        description: 'The card.',
        headers: { ...cardHeaders, 'Preference-Applied': { schema: { type: 'string' } } },
        content: json(Card),
      },
      304: { description: 'Unchanged since the ETag given in If-None-Match.' },
      ...authErrors,
      404: problem('No such card of yours (CARD_NOT_FOUND).'),
      429: {
        ...problem(
          'With Prefer: wait, the user already holds the maximum of open long-polls (LONG_POLL_LIMIT_REACHED).',
        ),
        headers: retryAfter('Seconds before retrying.'),
      },
    },
  });

  registry.registerPath({
    method: 'get',
    path: '/v1/cards',
    summary: 'List your cards, newest first',
    security,
    request: { query: ListCardsQuerySchema },
    responses: {
      200: { description: 'A page of cards.', content: json(CardList) },
      ...authErrors,
      422: problem('Invalid query or cursor (VALIDATION_FAILED).'),
    },
  });

  registry.registerPath({
    method: 'post',
    path: '/v1/admin/users',
    summary: 'Create a user (admin)',
    security,
    request: { body: { required: true, content: json(CreateUserRequest) } },
    responses: {
      201: { description: 'The user.', content: json(User) },
      ...authErrors,
      409: problem('The externalId is taken (USER_ALREADY_EXISTS).'),
      422: problem('Validation failed (VALIDATION_FAILED).'),
    },
  });

  registry.registerPath({
    method: 'get',
    path: '/v1/admin/cards',
    summary: 'List every card, with filters (admin)',
    security,
    request: { query: AdminListCardsQuerySchema },
    responses: {
      200: { description: 'A page of cards.', content: json(AdminCardList) },
      ...authErrors,
      422: problem('Invalid query or cursor (VALIDATION_FAILED).'),
    },
  });

  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'Card issuing API',
      version: '1.0.0',
      description:
        'Request debit cards and follow them to ACTIVE or FAILED. Errors are RFC 9457 problem+json with a stable `code`.',
    },
    servers: [{ url: '/' }],
  });
}
