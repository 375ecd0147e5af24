/**
 * The admin API's shapes as the console reads them. The console is plain browser code without a bundler, so it
 * cannot import the zod schemas of @cards/contracts; these interfaces mirror the documented contract instead.
 */

export const CARD_STATUSES = ['PENDING', 'ACTIVE', 'FAILED'] as const;
export type CardStatus = (typeof CARD_STATUSES)[number];

export const CARD_COLORS = ['black', 'white', 'silver', 'gold', 'blue', 'pink'] as const;
export type CardColor = (typeof CARD_COLORS)[number];

export interface User {
  id: string;
  externalId: string;
  email: string;
  role: string;
  createdAt: string;
}

export interface AdminCard {
  id: string;
  status: CardStatus;
  color: CardColor;
  userId: string;
  last4: string | null;
  expMonth: number | null;
  expYear: number | null;
  failureCode: string | null;
  failureMessage: string | null;
  createdAt: string;
  updatedAt: string;
  activatedAt?: string | null;
}

export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}

export interface CardsSummary {
  counts: Record<CardStatus, number>;
  total: number;
  stuckPending: number;
  stuckPendingAfterSeconds: number;
  /** The server's clock, so "stuck" never depends on the browser's. */
  now: string;
}

export interface CardDetail {
  card: AdminCard & {
    ownerExternalId?: string | null;
    providerCardId?: string | null;
    correlationId?: string | null;
    failedAt?: string | null;
    providerCancelRequestedAt?: string | null;
    providerCancelledAt?: string | null;
  };
  timeline: TimelineEntry[];
}

export interface TimelineEntry {
  at: string;
  kind: string;
  summary: string;
  eventId?: string | null;
  type?: string | null;
  requestId?: string | null;
}

export interface QuarantinedOutboxRow {
  id: string;
  type: string;
  cardId: string;
  attempts: number;
  lastError: string | null;
  quarantinedAt: string;
  waitingBehind: number;
}

export interface PipelineHealth {
  checkedAt: string;
  outbox: {
    backlog: number;
    oldestAgeSeconds: number | null;
    failingRows: number;
    quarantinedRows: number;
    quarantined: QuarantinedOutboxRow[];
  };
  kafka: { available: boolean; error: string | null };
  consumers: { groupId: string; topic: string; lag: number }[];
  deadLetters: { topic: string; deadLetterTopic: string; count: number }[];
}

export interface DeadLetter {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  ceId: string | null;
  ceType: string | null;
  reason: string | null;
  attempts: string | number | null;
  failedAt: string | null;
}

export interface ReplayResult {
  topic: string;
  replayed: { partition: number; offset: string; ceId: string | null; ceType: string | null }[];
}

export interface AuditEntry {
  id: string;
  at: string;
  actor: { userId: string | null; externalId: string };
  action: string;
  target: unknown;
  requestId: string | null;
  details: unknown;
}
