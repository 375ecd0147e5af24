import { z } from 'zod';

import { CardColorSchema, FailureCodeSchema } from './cards';
import { ProviderCardIdSchema } from './provider';
import type { TopicNames } from './topics';

/**
 * Text a consumer stores: PostgreSQL's text and jsonb hold neither NUL nor an unpaired surrogate (which JSON carries
 * as "\ud800"). An event with either would fail its handler on every attempt, where it belongs on the dead-letter
 * topic at once.
 */
const STORABLE_TEXT = /^[^\0\p{Cs}]*$/u;
const StorableText = z.string().regex(STORABLE_TEXT, 'must not contain NUL or unpaired surrogates');

/** Whether PostgreSQL can store `text` (no NUL, no unpaired surrogate); the rule the event schemas apply. */
export function isStorableText(text: string): boolean {
  return STORABLE_TEXT.test(text);
}

/** Event types (CloudEvents `type`). */
export const EventType = {
  provisionRequested: 'card.provision.requested',
  cancelRequested: 'card.cancel.requested',
  provisioned: 'card.provisioned',
  provisioningFailed: 'card.provisioning.failed',
  cancelled: 'card.cancelled',
} as const;
export type EventType = (typeof EventType)[keyof typeof EventType];

export const CardProvisionRequestedSchema = z.strictObject({
  cardId: z.uuid(),
  color: CardColorSchema,
  cardholderRef: z.uuid().describe('Our user id; the provider keys the cardholder by it.'),
  requestedAt: z.iso.datetime(),
  // Optional: commands published before the field existed must still be handled (they have no deadline).
  deadline: z.iso
    .datetime()
    .optional()
    .describe(
      'The saga deadline: past it the worker makes no provider card, and card-api fails the card TIMED_OUT.',
    ),
});

export const CardCancelRequestedSchema = z.strictObject({
  cardId: z.uuid(),
  providerCardId: ProviderCardIdSchema,
  reason: StorableText.min(1).max(500),
});

export const CardProvisionedSchema = z.strictObject({
  cardId: z.uuid(),
  providerCardId: ProviderCardIdSchema,
  last4: z.string().regex(/^\d{4}$/),
  expMonth: z.number().int().min(1).max(12),
  expYear: z.number().int().min(2000).max(2100),
  // Optional: results published before the field existed must still parse (a deploy never strands a result).
  attempts: z.number().int().min(1).optional(),
});

export const CardProvisioningFailedSchema = z.strictObject({
  cardId: z.uuid(),
  code: FailureCodeSchema,
  message: StorableText.max(1000),
  attempts: z.number().int().min(0),
});

export const CardCancelledSchema = z.strictObject({
  cardId: z.uuid(),
  providerCardId: ProviderCardIdSchema,
});

/** Each event type's data schema and the topic (a key of TopicNames) it travels on. */
export const EventCatalog = {
  [EventType.provisionRequested]: { topic: 'provisioningCommands', data: CardProvisionRequestedSchema },
  [EventType.cancelRequested]: { topic: 'provisioningCommands', data: CardCancelRequestedSchema },
  [EventType.provisioned]: { topic: 'provisioningResults', data: CardProvisionedSchema },
  [EventType.provisioningFailed]: { topic: 'provisioningResults', data: CardProvisioningFailedSchema },
  [EventType.cancelled]: { topic: 'provisioningResults', data: CardCancelledSchema },
} as const satisfies Record<EventType, { topic: keyof TopicNames; data: unknown }>;

export type EventData<T extends EventType> = z.infer<(typeof EventCatalog)[T]['data']>;

/** A CloudEvents 1.0 event of one of our types. */
export interface CardEvent<T extends EventType = EventType> {
  id: string;
  type: T;
  source: string;
  time: string;
  /** The card id; also the Kafka key, so every event of a card stays in order on one partition. */
  subject: string;
  correlationId?: string;
  traceparent?: string;
  data: EventData<T>;
}

/** Any one of our events, narrowed by `type`. */
export type AnyCardEvent = { [T in EventType]: CardEvent<T> }[EventType];

/** CloudEvents attributes as Kafka headers (binary content mode). */
export const EventHeaders = {
  id: 'ce_id',
  type: 'ce_type',
  source: 'ce_source',
  specversion: 'ce_specversion',
  time: 'ce_time',
  subject: 'ce_subject',
  contentType: 'content-type',
  correlationId: 'correlation-id',
  traceparent: 'traceparent',
} as const;

const EnvelopeSchema = z.object({
  [EventHeaders.id]: StorableText.min(1).max(200),
  [EventHeaders.type]: z.enum(Object.values(EventType) as [EventType, ...EventType[]]),
  [EventHeaders.source]: StorableText.min(1).max(200),
  [EventHeaders.specversion]: z.literal('1.0'),
  [EventHeaders.time]: z.iso.datetime({ offset: true }),
  [EventHeaders.subject]: StorableText.min(1).max(200),
  [EventHeaders.contentType]: z.literal('application/json'),
  [EventHeaders.correlationId]: StorableText.max(200).optional(),
  [EventHeaders.traceparent]: StorableText.max(200).optional(),
});

/** A Kafka message as our port sees it: string key, string headers, string value. */
export interface EncodedEvent {
  key: string;
  value: string;
  headers: Record<string, string>;
}

/** Validates an event against its type's schema and encodes it for Kafka (binary mode: data is the value). */
export function encodeEvent(event: AnyCardEvent): EncodedEvent {
  const data: unknown = EventCatalog[event.type].data.parse(event.data);
  const headers: Record<string, string> = {
    [EventHeaders.id]: event.id,
    [EventHeaders.type]: event.type,
    [EventHeaders.source]: event.source,
    [EventHeaders.specversion]: '1.0',
    [EventHeaders.time]: event.time,
    [EventHeaders.subject]: event.subject,
    [EventHeaders.contentType]: 'application/json',
  };
  if (event.correlationId) {
    headers[EventHeaders.correlationId] = event.correlationId;
  }
  if (event.traceparent) {
    headers[EventHeaders.traceparent] = event.traceparent;
  }
  EnvelopeSchema.parse(headers);
  return { key: event.subject, value: JSON.stringify(data), headers };
}

/**
 * Whether a stored event (an outbox row's JSON, an operator's fix of one) is one of ours and would be published as
 * it is: encoded, then decoded back, so that every rule a consumer applies holds. Never throws.
 */
export function checkEvent(candidate: unknown): DecodeResult {
  try {
    if (
      typeof candidate !== 'object' ||
      candidate === null ||
      !Object.hasOwn(EventCatalog, String((candidate as { type?: unknown }).type))
    ) {
      return { ok: false, reason: 'not an event of a known type' };
    }
    const encoded = encodeEvent(candidate as AnyCardEvent);
    return decodeEvent({ value: encoded.value, headers: encoded.headers });
  } catch (error) {
    return { ok: false, reason: error instanceof z.ZodError ? z.prettifyError(error) : String(error) };
  }
}

/** The outcome of decoding: the event, or why it is not one of ours (for the dead-letter topic). */
export type DecodeResult = { ok: true; event: AnyCardEvent } | { ok: false; reason: string };

/** Decodes and validates a Kafka message into one of our events; never throws. */
export function decodeEvent(message: {
  value: string | null;
  headers: Record<string, string | undefined>;
}): DecodeResult {
  const envelope = EnvelopeSchema.safeParse(message.headers);
  if (!envelope.success) {
    return { ok: false, reason: `invalid envelope: ${z.prettifyError(envelope.error)}` };
  }
  const headers = envelope.data;
  const type = headers[EventHeaders.type];
  let json: unknown;
  try {
    json = JSON.parse(message.value ?? '');
  } catch {
    return { ok: false, reason: 'value is not JSON' };
  }
  const data = EventCatalog[type].data.safeParse(json);
  if (!data.success) {
    return { ok: false, reason: `invalid ${type} data: ${z.prettifyError(data.error)}` };
  }
  if ((data.data as { cardId: string }).cardId !== headers[EventHeaders.subject]) {
    return { ok: false, reason: 'ce_subject does not match data.cardId' };
  }
  const event = {
    id: headers[EventHeaders.id],
    type,
    source: headers[EventHeaders.source],
    time: headers[EventHeaders.time],
    subject: headers[EventHeaders.subject],
    data: data.data,
    ...(headers[EventHeaders.correlationId] && { correlationId: headers[EventHeaders.correlationId] }),
    ...(headers[EventHeaders.traceparent] && { traceparent: headers[EventHeaders.traceparent] }),
  } as AnyCardEvent;
  return { ok: true, event };
}
