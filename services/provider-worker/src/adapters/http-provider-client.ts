import { ProviderCardSchema, ProviderErrorSchema, type ProviderCreateCardRequest } from '@cards/contracts';

import type {
  CallTrace,
  CancelCardOutcome,
  CreateCardOutcome,
  ProviderClient,
} from '../domain/provider-client';

/** How to reach the provider. */
export interface HttpProviderClientOptions {
  /** Base URL, e.g. http://127.0.0.1:3200; a path prefix is kept. */
  baseUrl: string;
  /** Bound on each call, body included. */
  timeoutMs: number;
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
 */
export class HttpProviderClient implements ProviderClient {
  private readonly baseUrl: string;

  constructor(private readonly options: HttpProviderClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
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
    const { status, body, bodyIsJson } = answer;
    if (isSuccess(status)) {
      if (!bodyIsJson) {
        return { kind: 'contract-violation', reason: `HTTP ${status} answer is not JSON` };
      }
      const card = ProviderCardSchema.safeParse(body);
      if (!card.success) {
        // Paths and zod's messages only: the values could be card data and end up in an event and the logs.
        const problems = card.error.issues
          .map((issue) => `${issue.path.join('.') || '(body)'}: ${issue.message}`)
          .join('; ');
        return { kind: 'contract-violation', reason: `Provider card breaks the contract: ${problems}` };
      }
      return { kind: 'created', card: card.data };
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
      return { kind: 'cancelled' };
    }
    if (answer.status === 404) {
      return { kind: 'not-found' };
    }
    return this.failure(answer.status, answer.body);
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

  private async post(path: string, body: unknown, headers: Record<string, string>): Promise<Exchange> {
    try {
      // One signal for the request and the body: a provider that sends headers and then stalls still times out.
      const response = await fetch(`${this.baseUrl}${path}`, {
        method: 'POST',
        headers: {
          accept: 'application/json',
          ...(body !== undefined && { 'content-type': 'application/json' }),
          ...headers,
        },
        ...(body !== undefined && { body: JSON.stringify(body) }),
        redirect: 'manual',
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      const text = await response.text();
      try {
        return { ok: true, status: response.status, body: JSON.parse(text) as unknown, bodyIsJson: true };
      } catch {
        return { ok: true, status: response.status, body: text, bodyIsJson: false };
      }
    } catch (error) {
      return { ok: false, reason: this.describe(error) };
    }
  }

  private describe(error: unknown): string {
    if (hasName(error, 'TimeoutError')) {
      return `no answer within ${this.options.timeoutMs} ms`;
    }
    // undici reports network failures as TypeError('fetch failed') with the system error as its cause. Shapes,
    // not instanceof: fetch's errors may come from another realm (a test runner's sandbox).
    const cause = isRecord(error) ? error['cause'] : undefined;
    if (isRecord(cause)) {
      const code = cause['code'];
      return `connection failed: ${typeof code === 'string' ? code : String(cause['message'])}`;
    }
    return `request failed: ${isRecord(error) ? String(error['message']) : String(error)}`;
  }
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
