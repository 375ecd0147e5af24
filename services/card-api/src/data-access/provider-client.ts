import { ProviderCardListSchema, ProviderCardSchema, type ProviderCard } from '@cards/contracts';
import { z } from 'zod';

import type { ProviderCardReader } from '../domain/reconcile';

/** The most the provider's list API returns per call. */
export const PROVIDER_LIST_LIMIT = 1000;

/**
 * A small read-only client of the provider's card API, for reconciliation (card-api never changes provider cards
 * itself: repairs go through the saga, `card.cancel.requested` → provider-worker). Every answer is validated
 * against the contract; a call is bounded by `timeoutMs`.
 */
export class HttpProviderCardReader implements ProviderCardReader {
  private readonly baseUrl: string;

  constructor(
    private readonly options: {
      baseUrl: string;
      timeoutMs?: number;
      /** Aborts calls in flight (process shutdown). */
      signal?: AbortSignal;
    },
  ) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
  }

  /** `GET /v1/cards?createdFrom&createdTo&limit`: cards created in [from, to), newest first. */
  async listCards(filter: { createdFrom: Date; createdTo: Date; limit: number }): Promise<ProviderCard[]> {
    const query = new URLSearchParams({
      createdFrom: filter.createdFrom.toISOString(),
      createdTo: filter.createdTo.toISOString(),
      limit: String(Math.min(filter.limit, PROVIDER_LIST_LIMIT)),
    });
    const { status, body } = await this.get(`/v1/cards?${query.toString()}`);
    if (status !== 200) {
      throw new Error(`provider card list answered HTTP ${status}`);
    }
    return parse(ProviderCardListSchema, body, 'provider card list').data;
  }

  /** `GET /v1/cards/{id}`; undefined when the provider does not know the card (404). */
  async findCard(providerCardId: string): Promise<ProviderCard | undefined> {
    const { status, body } = await this.get(`/v1/cards/${encodeURIComponent(providerCardId)}`);
    if (status === 404) {
      return undefined;
    }
    if (status !== 200) {
      throw new Error(`provider card ${providerCardId} answered HTTP ${status}`);
    }
    return parse(ProviderCardSchema, body, `provider card ${providerCardId}`);
  }

  private async get(path: string): Promise<{ status: number; body: unknown }> {
    const url = `${this.baseUrl}${path}`;
    let response: Response;
    try {
      response = await fetch(url, {
        headers: { accept: 'application/json' },
        signal: AbortSignal.any([
          AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
          ...(this.options.signal ? [this.options.signal] : []),
        ]),
      });
    } catch (error) {
      throw new Error(
        `provider unreachable at ${this.baseUrl}: ${error instanceof Error ? error.message : String(error)}`,
        {
          cause: error,
        },
      );
    }
    const text = await response.text();
    let body: unknown;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      body = undefined;
    }
    return { status: response.status, body };
  }
}

function parse<Schema extends z.ZodType>(schema: Schema, body: unknown, what: string): z.output<Schema> {
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    // Paths and messages only: values could be card data.
    const problems = parsed.error.issues
      .slice(0, 5)
      .map((issue) => `${issue.path.join('.') || '(body)'}: ${issue.message}`)
      .join('; ');
    throw new Error(`${what} breaks the provider contract: ${problems}`);
  }
  return parsed.data;
}
