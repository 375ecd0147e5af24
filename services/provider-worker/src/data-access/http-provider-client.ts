import {
  ProviderCardListSchema,
  ProviderCardSchema,
  ProviderErrorSchema,
  type ProviderCard,
  type ProviderCreateCardRequest,
} from '@cards/contracts';
import { Pool } from 'undici';

import type {
  CallTrace,
  CancelCardOutcome,
  CreateCardOutcome,
  FindCardOutcome,
  ProviderClient,
} from '../domain/provider-client';

/** How to reach the provider. */
export interface HttpProviderClientOptions {
  /** Base URL, e.g. http://127.0.0.1:3200; a path prefix is kept. */
  baseUrl: string;
  /** Bound on each call, body included (and any wait for a free connection). */
  timeoutMs: number;
  /** Keep-alive connections to the provider at most; calls beyond them wait for one. */
  maxConnections?: number;
}

/** An answer that arrived in full, or why none did. */
type Exchange =
  { ok: true; status: number; body: unknown; bodyIsJson: boolean } | { ok: false; reason: string };

/** The saga's request id and trace context, so the provider's logs and traces join ours. */
function traceHeaders(trace: CallTrace | undefined): Record<string, string> {
  return {
    ...(trace?.correlationId && { 'X-Request-Id': trace.correlationId }),
    ...(trace?.traceparent && { traceparent: trace.traceparent }),
  };
}

/** A run of 12 to 19 digits, spaced or dashed: the shape of a card number. */
const CARD_NUMBER_LIKE = /(?<![\dA-Za-z])\d(?:[ -]?\d){11,18}(?![\dA-Za-z])/g;

/**
 * The provider's free text travels on: into the failure event, the card row, the client's answer and the logs. It
 * is someone else's text, so anything shaped like a card number or unstorable is removed, and its length bounded,
 * before it does.
 */
export function scrubProviderText(text: string): string {
  return (
    text
      .replace(CARD_NUMBER_LIKE, '[number removed]')
      // NUL and lone surrogates cannot be stored (PostgreSQL text, our event contracts refuse them).
      .replaceAll('\u0000', '')
      // Cut before mending: a cut through a surrogate pair leaves a lone half, which toWellFormed then replaces.
      .slice(0, 500)
      .toWellFormed()
  );
}

/**
 * The provider's HTTP API behind the ProviderClient port: one call per method, each bounded by a timeout, every
 * answer mapped to an outcome. 5xx, 408, 429, refused connections and timeouts are `unavailable`: the provider
 * may answer differently next time. Other 4xx are `rejected`.
 *
 * Calls go over a bounded pool of keep-alive connections (undici's Pool), not global `fetch`: no connection set up
 * per call, and less than half of fetch's CPU per call (measured against the mock provider, 2026-12-04: fetch's
 * WHATWG Request/Response and streams cost the rest). `close()` lets go of the connections.
 */
export class HttpProviderClient implements ProviderClient {
  private readonly pool: Pool;
  /** The base URL's path, without its trailing slashes: kept in front of every call's path. */
  private readonly prefix: string;

  constructor(private readonly options: HttpProviderClientOptions) {
    const base = new URL(options.baseUrl);
    this.prefix = base.pathname.replace(/\/+$/, '');
    this.pool = new Pool(base.origin, {
      connections: options.maxConnections ?? 64,
      // Backstops of the per-call signal (see post), which bounds the whole call.
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      connectTimeout: options.timeoutMs,
    });
  }

  /** Closes the connections once the calls in flight are done (each is bounded by the timeout). */
  async close(): Promise<void> {
    await this.pool.close();
  }

  async createCard(
    request: ProviderCreateCardRequest,
    idempotencyKey: string,
    trace?: CallTrace,
  ): Promise<CreateCardOutcome> {
    const answer = await this.post('/v1/cards', request, {
      'Idempotency-Key': idempotencyKey,
      ...traceHeaders(trace),
    });
    if (!answer.ok) {
      return { kind: 'unavailable', reason: answer.reason };
    }
    const { status, body } = answer;
    if (isSuccess(status)) {
      const card = providerCardOf(answer);
      return card.ok
        ? { kind: 'created', card: card.card }
        : { kind: 'contract-violation', reason: card.reason };
    }
    return this.failure(status, body);
  }

  async cancelCard(providerCardId: string, trace?: CallTrace): Promise<CancelCardOutcome> {
    const answer = await this.post(
      `/v1/cards/${encodeURIComponent(providerCardId)}/cancel`,
      undefined,
      traceHeaders(trace),
    );
    if (!answer.ok) {
      return { kind: 'unavailable', reason: answer.reason };
    }
    if (isSuccess(answer.status)) {
      // A 2xx is believed only for what it says: this card, now CANCELLED. Anything else is no cancellation.
      const card = providerCardOf(answer);
      if (!card.ok) {
        return { kind: 'contract-violation', reason: card.reason };
      }
      if (card.card.id !== providerCardId) {
        return { kind: 'contract-violation', reason: 'Provider answered the cancel with another card' };
      }
      if (card.card.status !== 'CANCELLED') {
        return {
          kind: 'contract-violation',
          reason: `Provider answered the cancel with the card ${card.card.status}, not CANCELLED`,
        };
      }
      return { kind: 'cancelled' };
    }
    if (answer.status === 404) {
      return { kind: 'not-found' };
    }
    return this.failure(answer.status, answer.body);
  }

  async findCardsByReference(reference: string, trace?: CallTrace): Promise<FindCardOutcome> {
    const query = new URLSearchParams({ reference, limit: '10' });
    const answer = await this.call('GET', `/v1/cards?${query.toString()}`, undefined, traceHeaders(trace));
    if (!answer.ok) {
      return { kind: 'unavailable', reason: answer.reason };
    }
    if (answer.status !== 200) {
      const failure = this.failure(answer.status, answer.body);
      return failure.kind === 'unavailable'
        ? failure
        : { kind: 'contract-violation', reason: `card lookup answered HTTP ${answer.status}` };
    }
    const list = answer.bodyIsJson ? ProviderCardListSchema.safeParse(answer.body) : undefined;
    if (!list?.success) {
      return { kind: 'contract-violation', reason: 'Provider card list breaks the contract' };
    }
    const cards = list.data.data.filter((card) => card.reference === reference);
    return cards.length > 0 ? { kind: 'found', cards } : { kind: 'not-found' };
  }

  /** Maps a non-2xx answer. */
  private failure(
    status: number,
    body: unknown,
  ):
    | { kind: 'unavailable'; reason: string }
    | { kind: 'rejected'; status: number; message: string }
    | { kind: 'contract-violation'; reason: string } {
    if (status >= 500 || status === 408 || status === 429) {
      return { kind: 'unavailable', reason: `HTTP ${status}` };
    }
    if (status >= 400) {
      const error = ProviderErrorSchema.safeParse(body);
      return {
        kind: 'rejected',
        status,
        message: error.success
          ? scrubProviderText(error.data.message)
          : `Provider refused the request with HTTP ${status}`,
      };
    }
    // Redirects are not followed (see post) and 1xx never reaches here: neither is in the contract.
    return { kind: 'contract-violation', reason: `unexpected HTTP ${status}` };
  }

  private post(path: string, body: unknown, headers: Record<string, string>): Promise<Exchange> {
    return this.call('POST', path, body, headers);
  }

  private async call(
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    headers: Record<string, string>,
  ): Promise<Exchange> {
    try {
      // One signal for the wait, the request and the body: a provider that sends headers and then stalls still
      // times out, and an aborted call closes its connection, so a hung call holds a slot no longer than this.
      const response = await this.pool.request({
        method,
        path: `${this.prefix}${path}`,
        headers: {
          accept: 'application/json',
          ...(body !== undefined && { 'content-type': 'application/json' }),
          ...headers,
        },
        ...(body !== undefined && { body: JSON.stringify(body) }),
        // undici follows no redirect unless asked to: a 3xx is an answer (the contract has none).
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      const text = await response.body.text();
      try {
        return { ok: true, status: response.statusCode, body: JSON.parse(text) as unknown, bodyIsJson: true };
      } catch {
        return { ok: true, status: response.statusCode, body: text, bodyIsJson: false };
      }
    } catch (error) {
      return { ok: false, reason: this.describe(error) };
    }
  }

  private describe(error: unknown): string {
    // The call's own signal, or undici's backstops (UND_ERR_HEADERS_TIMEOUT, UND_ERR_BODY_TIMEOUT,
    // UND_ERR_CONNECT_TIMEOUT): either way the provider did not answer in time.
    if (hasName(error, 'TimeoutError') || hasCode(error, TIMEOUT_CODES)) {
      return `no answer within ${this.options.timeoutMs} ms`;
    }
    // Network failures arrive as the system error (ECONNREFUSED, ECONNRESET, …) or undici's UND_ERR_SOCKET (the
    // other side closed), where fetch wrapped them in TypeError('fetch failed') as its cause: both shapes are read.
    // Shapes, not instanceof: errors may come from another realm (a test runner's sandbox).
    const code = codeOf(error);
    if (code !== undefined && NETWORK_CODE.test(code)) {
      return `connection failed: ${code}`;
    }
    const cause = isRecord(error) ? error['cause'] : undefined;
    if (isRecord(cause)) {
      return `connection failed: ${codeOf(cause) ?? String(cause['message'])}`;
    }
    return `request failed: ${isRecord(error) ? String(error['message']) : String(error)}`;
  }
}

/** The provider card a 2xx answer carries, validated against the contract, or why it breaks it. */
function providerCardOf(
  answer: Extract<Exchange, { ok: true }>,
): { ok: true; card: ProviderCard } | { ok: false; reason: string } {
  if (!answer.bodyIsJson) {
    return { ok: false, reason: `HTTP ${answer.status} answer is not JSON` };
  }
  const card = ProviderCardSchema.safeParse(answer.body);
  if (!card.success) {
    // Paths and zod's messages only: the values could be card data and end up in an event and the logs.
    const problems = card.error.issues
      .map((issue) => `${issue.path.join('.') || '(body)'}: ${issue.message}`)
      .join('; ');
    return { ok: false, reason: `Provider card breaks the contract: ${problems}` };
  }
  return { ok: true, card: card.data };
}

/** undici's own timeouts, reported as timeouts like the call's signal. */
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);

/** System errors (ECONNREFUSED, EPIPE, EAI_AGAIN, …), not Node's ERR_* usage errors, and undici's closed socket. */
const NETWORK_CODE = /^(?:E(?!RR_)[A-Z0-9_]+|UND_ERR_SOCKET)$/;

function codeOf(value: unknown): string | undefined {
  return isRecord(value) && typeof value['code'] === 'string' ? value['code'] : undefined;
}

function hasCode(value: unknown, codes: ReadonlySet<string>): boolean {
  const code = codeOf(value);
  return code !== undefined && codes.has(code);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function hasName(value: unknown, name: string): boolean {
  return isRecord(value) && value['name'] === name;
}

function isSuccess(status: number): boolean {
  return status >= 200 && status < 300;
}
