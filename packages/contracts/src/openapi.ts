import { OpenApiGeneratorV31, OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';

import {
  AdminCardDetailSchema,
  AdminCardsSummarySchema,
  AdminListUsersQuerySchema,
  AuditListSchema,
  AuditQuerySchema,
  DeadLetterListSchema,
  DeadLettersQuerySchema,
  PipelineStatusSchema,
  ReplayDeadLetterRequestSchema,
  ReplayDeadLetterResponseSchema,
  UserListSchema,
} from './admin';
import {
  AdminCardListSchema,
  AdminCardsSummaryQuerySchema,
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
type Responses = Record<string, unknown>;

/** The operator console's routes (`/v1/admin/*` beyond users and the card list). */
function registerAdminConsolePaths(
  registry: OpenAPIRegistry,
  helpers: {
    security: { [name: string]: string[] }[];
    authErrors: Responses;
    problem: (description: string) => { description: string; content: Record<string, { schema: z.ZodType }> };
    json: <T extends z.ZodType>(schema: T) => { 'application/json': { schema: T } };
  },
): void {
  const { security, authErrors, problem, json } = helpers;
  const noCache = {
    'Cache-Control': {
      schema: { type: 'string' as const, enum: ['private, no-cache'] },
      description: 'Every admin answer.',
    },
  };
  const ok = <T extends z.ZodType>(description: string, schema: T) => ({
    description,
    headers: noCache,
    content: json(schema),
  });
  const User = UserSchema.meta({ id: 'User' });
  const UserList = UserListSchema.meta({ id: 'UserList' });
  const AdminCardsSummary = AdminCardsSummarySchema.meta({ id: 'AdminCardsSummary' });
  const AdminCardDetail = AdminCardDetailSchema.meta({ id: 'AdminCardDetail' });
  const PipelineStatus = PipelineStatusSchema.meta({ id: 'PipelineStatus' });
  const DeadLetterList = DeadLetterListSchema.meta({ id: 'DeadLetterList' });
  const ReplayDeadLetterRequest = ReplayDeadLetterRequestSchema.meta({ id: 'ReplayDeadLetterRequest' });
  const ReplayDeadLetterResponse = ReplayDeadLetterResponseSchema.meta({ id: 'ReplayDeadLetterResponse' });
  const AuditList = AuditListSchema.meta({ id: 'AuditList' });
  const kafkaDown = problem(
    'The database or Kafka is unreachable or too slow (SERVICE_UNAVAILABLE): retry later.',
  );

  registry.registerPath({
    method: 'get',
    path: '/v1/admin/me',
    operationId: 'getCurrentAdmin',
    tags: ['admin: users'],
    summary: 'The caller (admin)',
    description: 'Checks a token: 401 when it is missing or invalid, 403 when its user is not an admin.',
    security,
    responses: { 200: ok('The calling user.', User), ...authErrors },
  });

  registry.registerPath({
    method: 'get',
    path: '/v1/admin/users',
    operationId: 'listUsers',
    tags: ['admin: users'],
    summary: 'List users, newest first (admin)',
    security,
    request: { query: AdminListUsersQuerySchema },
    responses: {
      200: ok('A page of users.', UserList),
      ...authErrors,
      422: problem('Invalid query or cursor (VALIDATION_FAILED).'),
    },
  });

  registry.registerPath({
    method: 'get',
    path: '/v1/admin/cards/summary',
    operationId: 'summarizeCards',
    tags: ['admin: cards'],
    summary: 'Count cards by status, and the PENDING ones that seem stuck (admin)',
    description:
      'The same filters as the card list. A PENDING card created more than ADMIN_STUCK_PENDING_SECONDS ago counts ' +
      'as stuck, by the database clock.',
    security,
    request: { query: AdminCardsSummaryQuerySchema },
    responses: {
      200: ok('The counts.', AdminCardsSummary),
      ...authErrors,
      422: problem('Invalid query (VALIDATION_FAILED).'),
    },
  });

  registry.registerPath({
    method: 'get',
    path: '/v1/admin/cards/{cardId}',
    operationId: 'getCardDetail',
    tags: ['admin: cards'],
    summary: 'A card and its saga timeline (admin)',
    description:
      'What `cards show --json` prints: the request (with its X-Request-Id), the outbox rows written and published ' +
      '(with failed publish attempts), what the provider answered and when (attempts, failure), the results ' +
      'received and what each did, the terminal state, and compensation. Published outbox rows are kept ' +
      'OUTBOX_RETENTION_HOURS only.',
    security,
    request: { params: z.object({ cardId: z.uuid() }) },
    responses: {
      200: ok('The card and its timeline.', AdminCardDetail),
      400: problem('The card id is not a UUID (VALIDATION_FAILED).'),
      ...authErrors,
      404: problem('No such card (CARD_NOT_FOUND).'),
    },
  });

  registry.registerPath({
    method: 'get',
    path: '/v1/admin/pipeline',
    operationId: 'getPipelineStatus',
    tags: ['admin: pipeline'],
    summary: 'Outbox backlog, consumer lag and dead letters (admin)',
    description:
      'When Kafka cannot be read within ADMIN_KAFKA_TIMEOUT_MS, still 200: `kafka.available` is false with the ' +
      'error, and consumers and deadLetters are empty; the outbox figures come from the database.',
    security,
    responses: { 200: ok('The pipeline figures.', PipelineStatus), ...authErrors },
  });

  registry.registerPath({
    method: 'get',
    path: '/v1/admin/dead-letters',
    operationId: 'listDeadLetters',
    tags: ['admin: pipeline'],
    summary: "A topic's dead letters (admin)",
    description:
      'Every message of `<topic>.dlq` up to its end when asked, with why, where and after how many attempts it ' +
      'was dead-lettered; never its value (it may hold card data).',
    security,
    request: { query: DeadLettersQuerySchema },
    responses: {
      200: ok('The dead letters, by partition and offset.', DeadLetterList),
      400: problem("Not one of this system's topics (VALIDATION_FAILED)."),
      ...authErrors,
      422: problem('Invalid query (VALIDATION_FAILED).'),
      503: kafkaDown,
    },
  });

  registry.registerPath({
    method: 'post',
    path: '/v1/admin/dead-letters/replay',
    operationId: 'replayDeadLetters',
    tags: ['admin: pipeline'],
    summary: 'Re-publish a dead letter to its main topic (admin)',
    description:
      'Selects the newest dead letter with the event id, or the one at partition and offset, and re-publishes it ' +
      'as it first arrived (without the dlq-* headers), the path of `dlq replay`. Consumers are idempotent: an ' +
      'event already applied changes nothing. Recorded in the audit log.',
    security,
    request: { body: { required: true, content: json(ReplayDeadLetterRequest) } },
    responses: {
      200: ok('What was replayed.', ReplayDeadLetterResponse),
      400: problem("Not one of this system's topics (VALIDATION_FAILED)."),
      ...authErrors,
      404: problem('No dead letter matches (DEAD_LETTER_NOT_FOUND).'),
      415: problem('Body is not application/json (UNSUPPORTED_MEDIA_TYPE).'),
      422: problem('Validation failed (VALIDATION_FAILED).'),
      503: kafkaDown,
    },
  });

  registry.registerPath({
    method: 'get',
    path: '/v1/admin/audit',
    operationId: 'listAuditEntries',
    tags: ['admin: audit'],
    summary: 'The audit log, newest first (admin)',
    description:
      'Operator actions (`user.create`, `dead-letter.replay`) through this API or the operator CLI (actor ' +
      '`ops-cli`). Append-only.',
    security,
    request: { query: AuditQuerySchema },
    responses: {
      200: ok('A page of audit entries.', AuditList),
      ...authErrors,
      422: problem('Invalid query or cursor (VALIDATION_FAILED).'),
    },
  });
}

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
        'The database is saturated or unreachable, or the token keys could not be fetched (SERVICE_UNAVAILABLE); ' +
          'or the server is at its bound of in-flight requests or held long-polls and refused the request at once, ' +
          'before doing anything (OVERLOADED).',
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
    operationId: 'requestCard',
    tags: ['cards'],
    summary: 'Request a card',
    description:
      'Stores the card as PENDING and asks the provider for it asynchronously. Poll the Location (or long-poll ' +
      "with `Prefer: wait=N`) until the status is ACTIVE or FAILED. With `Prefer: wait=N` (N is cut to the server's " +
      'LONG_POLL_MAX_SECONDS, 30 by default; `Preference-Applied` says what was applied) on this request, ' +
      'the answer is held until the card is terminal (200 with it) or N seconds pass (the 202), with ' +
      '`Preference-Applied`; the 202 is what an Idempotency-Key records.',
    security,
    request: {
      headers: z.object({
        Prefer: z
          .string()
          .optional()
          .describe('wait=N: hold the answer up to N seconds for the card to become ACTIVE or FAILED.'),
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
      200: {
        description: 'With `Prefer: wait=N`: the card became ACTIVE or FAILED within the wait.',
        headers: {
          ...cardHeaders,
          Location: { schema: { type: 'string' }, description: 'The card URL.' },
          'Preference-Applied': { schema: { type: 'string' }, description: 'wait=N, the wait applied.' },
          ...replayedHeader,
        },
        content: json(Card),
      },
      202: {
        description: 'Accepted; the card is PENDING (with `Prefer: wait=N`, still PENDING after the wait).',
        headers: {
          ...cardHeaders,
          'Preference-Applied': {
            schema: { type: 'string' },
            description: 'With Prefer: wait, the wait applied.',
          },
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
    operationId: 'getCard',
    tags: ['cards'],
    summary: 'Read one of your cards',
    description:
      "`Prefer: wait=N` (N is cut to the server's LONG_POLL_MAX_SECONDS, 30 by default) holds the request until " +
      'the card is terminal (or differs from `If-None-Match`) ' +
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
        headers: {
          ...cardHeaders,
          'Preference-Applied': { schema: { type: 'string' } },
          ...retryAfter('Only while the card is PENDING: seconds before polling again.'),
        },
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
    operationId: 'listCards',
    tags: ['cards'],
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
    operationId: 'createUser',
    tags: ['admin: users'],
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
    operationId: 'listAllCards',
    tags: ['admin: cards'],
    summary: 'List every card, with filters (admin)',
    description: 'Ordered by createdAt, then id: newest first, or oldest first with `order=asc`.',
    security,
    request: { query: AdminListCardsQuerySchema },
    responses: {
      200: { description: 'A page of cards.', content: json(AdminCardList) },
      ...authErrors,
      422: problem('Invalid query or cursor (VALIDATION_FAILED).'),
    },
  });

  // Every process serves these three on its own port; card-api's are documented here with its API.
  registry.registerPath({
    method: 'get',
    path: '/healthz',
    operationId: 'getHealth',
    tags: ['operations'],
    summary: 'Liveness: the process runs',
    description:
      'Checks nothing beyond the process answering; for a container runtime to restart a hung process.',
    responses: {
      200: {
        description: 'Alive.',
        content: json(z.object({ status: z.literal('ok') }).meta({ id: 'Health' })),
      },
    },
  });

  registry.registerPath({
    method: 'get',
    path: '/readyz',
    operationId: 'getReadiness',
    tags: ['operations'],
    summary: 'Readiness: every dependency answers',
    description:
      'Pings the database (and Kafka where the process uses it); a load balancer sends traffic only when 200.',
    responses: {
      200: {
        description: 'Ready; each dependency is up.',
        content: json(
          z
            .object({ status: z.literal('ready'), checks: z.record(z.string(), z.enum(['up', 'down'])) })
            .meta({ id: 'Readiness' }),
        ),
      },
      503: problem('A dependency does not answer (NOT_READY), with `checks` and `failures`.'),
    },
  });

  registry.registerPath({
    method: 'get',
    path: '/metrics',
    operationId: 'getMetrics',
    tags: ['operations'],
    summary: 'Prometheus metrics',
    description:
      'The metrics of packages/contracts/src/metrics.ts, in the Prometheus text exposition format.',
    responses: {
      200: {
        description: 'The exposition.',
        content: { 'text/plain': { schema: z.string() } },
      },
    },
  });

  registerAdminConsolePaths(registry, { security, authErrors, problem, json });

  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'Card issuing API',
      version: '1.0.0',
      description:
        'Request debit cards and follow them to ACTIVE or FAILED. Errors are RFC 9457 problem+json with a stable `code`.',
    },
    servers: [{ url: '/' }],
    tags: [
      { name: 'cards', description: 'A user requests cards and follows them to ACTIVE or FAILED.' },
      { name: 'admin: users', description: 'Operators create and list users.' },
      { name: 'admin: cards', description: 'Operators search cards and read their saga timelines.' },
      { name: 'admin: pipeline', description: 'Outbox, consumer lag and dead letters, and their replay.' },
      { name: 'admin: audit', description: 'Every operator action, newest first.' },
      { name: 'operations', description: 'Liveness, readiness and metrics, served by every process.' },
    ],
  });
}
