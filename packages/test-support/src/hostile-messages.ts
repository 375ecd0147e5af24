import { randomBytes } from 'node:crypto';

import { encodeEvent, type AnyCardEvent } from '@cards/contracts';
import type { IHeaders } from 'kafkajs';

/** A message as a hostile producer sends it: any bytes for the value and the header values. */
export interface HostileMessage {
  name: string;
  value: Buffer | string | null;
  headers?: IHeaders;
  /** What the dead letter's reason must say. */
  reason: RegExp;
}

/** A real event's headers with some replaced, so only the part under test is wrong; undefined drops a header. */
export function headersOf(
  event: AnyCardEvent,
  overrides: Record<string, string | Buffer | undefined> = {},
): IHeaders {
  const merged: Record<string, string | Buffer | undefined> = { ...encodeEvent(event).headers, ...overrides };
  return Object.fromEntries(Object.entries(merged).filter(([, value]) => value !== undefined));
}

/**
 * Messages whose CloudEvents envelope is wrong whatever the event (missing, unknown or binary type, content type,
 * spec version, an id too long, no headers, tombstones): every consumer must dead-letter each and go on.
 * `event` makes the headers that are right.
 */
export function hostileEnvelopes(event: () => AnyCardEvent): HostileMessage[] {
  const envelope = /^invalid envelope/;
  const broken = (name: string, overrides: Record<string, string | Buffer | undefined>): HostileMessage => ({
    name,
    value: '{}',
    headers: headersOf(event(), overrides),
    reason: envelope,
  });
  return [
    broken('no ce_type', { ce_type: undefined }),
    broken('unknown ce_type', { ce_type: 'card.hacked' }),
    broken('ce_type as bytes', { ce_type: randomBytes(16) }),
    broken('no content-type', { 'content-type': undefined }),
    broken('content-type text/plain', { 'content-type': 'text/plain' }),
    broken('content-type garbage', { 'content-type': '\u0000;;' }),
    broken('ce_specversion 0.3', { ce_specversion: '0.3' }),
    broken('ce_id too long', { ce_id: 'x'.repeat(201) }),
    broken('ce_time not a time', { ce_time: 'yesterday' }),
    { name: 'no headers at all', value: encodeEvent(event()).value, reason: envelope },
    {
      name: 'tombstone with headers',
      value: null,
      headers: headersOf(event()),
      reason: /^value is not JSON$/,
    },
    { name: 'tombstone without headers', value: null, reason: envelope },
  ];
}
