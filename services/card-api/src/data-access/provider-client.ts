import { ProviderCardListSchema, ProviderCardSchema, type ProviderCard } from '@cards/contracts';
import { retryWithinBudget, type RetryBudget } from '@cards/runtime';
import { z } from 'zod';

import type { ProviderCardReader } from '../domain/reconcile';

/** The most the provider's list API returns per call. */
export const PROVIDER_LIST_LIMIT = 1000;

/** The default retry budget of one reader (one reconciliation run): two minutes, backoff from 0.5 s to 10 s. */
export const DEFAULT_PROVIDER_READ_BUDGET: RetryBudget = {
  budgetMs: 120_000,
  initialDelayMs: 500,
  maxDelayMs: 10_000,
};

/** A provider read that failed; `transient` when asking again may help (no answer, 5xx, 408, 429). */
export class ProviderReadError extends Error {
  constructor(
    message: string,
    readonly transient: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ProviderReadError';
  }
}

const isTransientRead = (error: unknown): boolean => error instanceof ProviderReadError && error.transient;

function readFailed(what: string, status: number): ProviderReadError {
  return new ProviderReadError(
    `${what} answered HTTP ${status}`,
    status >= 500 || status === 408 || status === 429,
  );
}

/**
 * A small read-only client of the provider's card API, for reconciliation (card-api never changes provider cards
 * itself: repairs go through the saga, `card.cancel.requested` → provider-worker). Every answer is validated
 * against the contract; a call is bounded by `timeoutMs`. Transient failures (no answer, 5xx, 408, 429) are asked
 * again with backoff within one budget for the reader's whole life (`retry`; a reconciliation run makes a reader
 * of its own), so a flaky provider slows a run down and a dead one ends it with a partial report.
 */
export class HttpProviderCardReader implements ProviderCardReader {
  private readonly baseUrl: string;
  /** When the reader's retry budget started: its first call. */
  private budgetStartedAt: number | undefined;

  constructor(
    private readonly options: {
      baseUrl: string;
      timeoutMs?: number;
      /** Aborts calls in flight (process shutdown). */
      signal?: AbortSignal;
      retry?: RetryBudget;
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
    return this.withRetries(async () => {
      const { status, body } = await this.get(`/v1/cards?${query.toString()}`);
      if (status !== 200) {
        throw readFailed('provider card list', status);
      }
      return parse(ProviderCardListSchema, body, 'provider card list').data;
    });
  }

  /** `GET /v1/cards/{id}`; undefined when the provider does not know the card (404). */
  async findCard(providerCardId: string): Promise<ProviderCard | undefined> {
    return this.withRetries(async () => {
      const { status, body } = await this.get(`/v1/cards/${encodeURIComponent(providerCardId)}`);
      if (status === 404) {
        return undefined;
      }
      if (status !== 200) {
        throw readFailed(`provider card ${providerCardId}`, status);
      }
      return parse(ProviderCardSchema, body, `provider card ${providerCardId}`);
    });
  }

  private withRetries<T>(read: () => Promise<T>): Promise<T> {
    this.budgetStartedAt ??= Date.now();
    return retryWithinBudget(read, {
      ...(this.options.retry ?? DEFAULT_PROVIDER_READ_BUDGET),
      isTransient: isTransientRead,
      signal: this.options.signal,
      startedAt: this.budgetStartedAt,
    });
  }

  private async get(path: string): Promise<{ status: number; body: unknown }> {
    const url = `${this.baseUrl}${path}`;
    let text: string;
    let status: number;
    try {
      const response = await fetch(url, {
        headers: { accept: 'application/json' },
        signal: AbortSignal.any([
          AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
          ...(this.options.signal ? [this.options.signal] : []),
        ]),
      });
      status = response.status;
      // Inside the try: a body that stalls or breaks off is as transient as no answer.
      text = await response.text();
    } catch (error) {
      // Aborted by the process shutting down: not worth asking again.
      const shuttingDown = this.options.signal?.aborted === true;
      throw new ProviderReadError(
        `provider unreachable at ${this.baseUrl}: ${error instanceof Error ? error.message : String(error)}`,
        !shuttingDown,
        { cause: error },
      );
    }
    let body: unknown;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      body = undefined;
    }
    return { status, body };
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
    throw new ProviderReadError(`${what} breaks the provider contract: ${problems}`, false);
  }
  return parsed.data;
}
