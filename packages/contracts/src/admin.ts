import { z } from 'zod';

import { CardColorSchema, CardStatusSchema, FailureCodeSchema, UserSchema } from './cards';

/**
 * The operator console's API (`/v1/admin/*`): every route needs a token of a user whose role is admin, and answers
 * `Cache-Control: private, no-cache`.
 */

const IsoTimestamp = z.iso.datetime({ offset: false }).describe('ISO 8601, UTC.');
const Cursor = z.string().min(1).max(200).optional();

/** `GET /v1/admin/cards/summary`: how many cards of each status match the filters, and how many seem stuck. */
export const AdminCardsSummarySchema = z.object({
  counts: z.object({ PENDING: z.number().int(), ACTIVE: z.number().int(), FAILED: z.number().int() }),
  total: z.number().int(),
  stuckPending: z
    .number()
    .int()
    .describe('PENDING cards created more than stuckPendingAfterSeconds before `now`.'),
  stuckPendingAfterSeconds: z.number().int().describe('ADMIN_STUCK_PENDING_SECONDS.'),
  now: IsoTimestamp.describe("The database's clock, which the ages are measured by."),
});
export type AdminCardsSummary = z.infer<typeof AdminCardsSummarySchema>;

/** Steps of a card's saga, in the order they happen when their times are equal. */
export const TIMELINE_KINDS = [
  'requested',
  'provider',
  'result',
  'outbox',
  'published',
  'activated',
  'failed',
  'cancel-requested',
  'cancelled',
] as const;
export type TimelineKind = (typeof TIMELINE_KINDS)[number];

/** One step of a card's saga, as `GET /v1/admin/cards/{id}` and `cards show --json` give it. */
export const TimelineEntrySchema = z.object({
  at: IsoTimestamp,
  kind: z.enum(TIMELINE_KINDS),
  summary: z.string(),
  eventId: z.string().optional().describe('The event (CloudEvents id) this step is about.'),
  type: z.string().optional().describe('The event type.'),
  requestId: z.string().optional().describe('On `requested`: the X-Request-Id of the card request.'),
});
export type TimelineEntryDocument = z.infer<typeof TimelineEntrySchema>;

/** Everything the card database holds about a card (never a full card number: there is none). */
export const AdminCardDetailSchema = z.object({
  card: z.object({
    id: z.uuid(),
    status: CardStatusSchema,
    color: CardColorSchema,
    userId: z.uuid(),
    ownerExternalId: z.string().nullable(),
    providerCardId: z.string().nullable(),
    last4: z.string().nullable(),
    expMonth: z.number().int().nullable(),
    expYear: z.number().int().nullable(),
    failureCode: FailureCodeSchema.nullable(),
    failureMessage: z.string().nullable(),
    correlationId: z.string().nullable().describe('The X-Request-Id of the card request.'),
    createdAt: IsoTimestamp,
    updatedAt: IsoTimestamp,
    activatedAt: IsoTimestamp.nullable(),
    failedAt: IsoTimestamp.nullable(),
    providerCancelRequestedAt: IsoTimestamp.nullable(),
    providerCancelledAt: IsoTimestamp.nullable(),
  }),
  timeline: z.array(TimelineEntrySchema),
});
export type AdminCardDetail = z.infer<typeof AdminCardDetailSchema>;

/** `GET /v1/admin/users` query. */
export const AdminListUsersQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: Cursor,
});
export type AdminListUsersQuery = z.infer<typeof AdminListUsersQuerySchema>;

export const UserListSchema = z.object({
  data: z.array(UserSchema),
  nextCursor: z.string().nullable().describe('Pass as `cursor` for the next page; null on the last page.'),
});
export type UserList = z.infer<typeof UserListSchema>;

/** `GET /v1/admin/pipeline`: the outbox, Kafka, consumer lag and dead letters at a glance. */
export const PipelineStatusSchema = z.object({
  checkedAt: IsoTimestamp,
  outbox: z.object({
    backlog: z.number().int().describe('Outbox rows not published yet.'),
    oldestAgeSeconds: z.number().nullable().describe('Age of the oldest unpublished row; null when none.'),
    failingRows: z.number().int().describe('Unpublished rows whose last publish attempt failed.'),
    quarantinedRows: z
      .number()
      .int()
      .describe('Rows the relay set aside until an operator releases them (`ops outbox release`).'),
    quarantined: z
      .array(
        z.object({
          id: z.string().describe('The outbox row id, as `ops outbox release` takes it.'),
          type: z.string(),
          cardId: z.string().describe('The row key: the card whose events wait behind this row.'),
          attempts: z.number().int().describe('Failed sends of this row alone.'),
          lastError: z.string().nullable().describe('Why it was set aside.'),
          quarantinedAt: IsoTimestamp,
          waitingBehind: z
            .number()
            .int()
            .describe('Later unpublished rows of the same card, held back in order.'),
        }),
      )
      .describe('The oldest quarantined rows (at most 20).'),
  }),
  relay: z.object({
    holder: z
      .object({
        applicationName: z
          .string()
          .nullable()
          .describe("The lock session's name: `outbox-relay <host> pid <pid>`, the active relay replica."),
        clientAddr: z
          .string()
          .nullable()
          .describe('The address the relay connected from; null over a socket.'),
        since: IsoTimestamp.nullable().describe('When its session started.'),
      })
      .nullable()
      .describe(
        "The database session holding the relay's advisory lock: the one active relay (the others stand by). Null when no relay runs.",
      ),
  }),
  kafka: z.object({
    available: z.boolean(),
    error: z.string().nullable().describe('Why Kafka could not be read; null when available.'),
  }),
  consumers: z.array(
    z.object({
      groupId: z.string(),
      topic: z.string(),
      lag: z.number().int().describe('Sum over partitions of end offset minus committed offset.'),
      members: z
        .array(
          z.object({
            clientId: z
              .string()
              .describe("The consumer's client id; it names the replica in the replicated profile."),
            memberId: z.string(),
            host: z.string(),
            partitions: z.array(z.number().int()).describe('The partitions of `topic` it owns now.'),
          }),
        )
        .describe("The group's members and their partitions; none while it rebalances or has no consumer."),
    }),
  ),
  deadLetters: z.array(
    z.object({
      topic: z.string(),
      deadLetterTopic: z.string(),
      count: z.number().int().describe('Messages the dead-letter topic holds (high minus low watermark).'),
    }),
  ),
});
export type PipelineStatus = z.infer<typeof PipelineStatusSchema>;

/** `GET /v1/admin/dead-letters` query: a main topic of the project or its `.dlq`. */
export const DeadLettersQuerySchema = z.strictObject({ topic: z.string().min(1).max(249) });

/** A dead letter's attributes; its value is never returned (it may hold card data). */
export const DeadLetterSchema = z.object({
  topic: z.string().describe('The dead-letter topic.'),
  partition: z.number().int(),
  offset: z.string(),
  key: z.string().nullable(),
  ceId: z.string().nullable(),
  ceType: z.string().nullable(),
  reason: z.string().nullable(),
  attempts: z.string().nullable(),
  failedAt: z.string().nullable(),
});
export const DeadLetterListSchema = z.object({ data: z.array(DeadLetterSchema) });
export type DeadLetterList = z.infer<typeof DeadLetterListSchema>;

const Offset = z.string().regex(/^\d{1,19}$/, 'must be a Kafka offset (digits)');

/** `POST /v1/admin/dead-letters/replay` body: one dead letter, by event id or by position. */
export const ReplayDeadLetterRequestSchema = z.union([
  z.strictObject({ topic: z.string().min(1).max(249), eventId: z.string().min(1).max(200) }),
  z.strictObject({
    topic: z.string().min(1).max(249),
    partition: z.number().int().min(0),
    offset: Offset,
  }),
]);
export type ReplayDeadLetterRequest = z.infer<typeof ReplayDeadLetterRequestSchema>;

export const ReplayDeadLetterResponseSchema = z.object({
  topic: z.string().describe('The main topic the letters were re-published to.'),
  replayed: z.array(
    z.object({
      partition: z.number().int(),
      offset: z.string(),
      ceId: z.string().nullable(),
      ceType: z.string().nullable(),
    }),
  ),
});
export type ReplayDeadLetterResponse = z.infer<typeof ReplayDeadLetterResponseSchema>;

/** Actions the audit log records. */
export const AuditAction = {
  userCreate: 'user.create',
  userRoleChange: 'user.role-change',
  deadLetterReplay: 'dead-letter.replay',
  outboxRelease: 'outbox.release',
} as const;
export type AuditAction = (typeof AuditAction)[keyof typeof AuditAction];

/** `GET /v1/admin/audit` query. */
export const AuditQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(50),
  cursor: Cursor,
});

export const AuditEntrySchema = z.object({
  id: z.string(),
  at: IsoTimestamp,
  actor: z.object({
    userId: z.uuid().nullable().describe('Null for the operator CLI.'),
    externalId: z.string().describe('The token subject, or `ops-cli`.'),
  }),
  action: z.string(),
  target: z.string().nullable(),
  requestId: z.string().nullable(),
  details: z.record(z.string(), z.unknown()),
});
export type AuditEntry = z.infer<typeof AuditEntrySchema>;

export const AuditListSchema = z.object({
  data: z.array(AuditEntrySchema),
  nextCursor: z.string().nullable(),
});
export type AuditList = z.infer<typeof AuditListSchema>;
