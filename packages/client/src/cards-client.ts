import createClient, { type Client } from 'openapi-fetch';

import type { components, paths } from './generated/api';

export type Card = components['schemas']['Card'];
export type CardColor = Card['color'];
export type Problem = components['schemas']['Problem'];

/** An answer that is an error: its status and the API's problem+json (code, title, detail, requestId). */
export class CardsApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Partial<Problem>,
  ) {
    super(
      `${status} ${problem.code ?? 'UNKNOWN'}: ${problem.detail ?? problem.title ?? 'no problem details'}` +
        (problem.requestId ? ` (requestId ${problem.requestId})` : ''),
    );
    this.name = 'CardsApiError';
  }
}

export interface CardsClientOptions {
  /** Where card-api is, e.g. http://127.0.0.1:3000. */
  baseUrl: string;
  /** The bearer token, or a function giving the current one (a refreshed token, say). */
  token: string | (() => string | Promise<string>);
  /** How many times a 5xx, a 429 or a failed connection is retried (3 by default). */
  maxRetries?: number;
  /** The wait before a retry when the answer names none (Retry-After), doubled each time; 250 ms by default. */
  retryBaseDelayMs?: number;
  /** The longest wait before one retry, whatever Retry-After says (10 s by default). */
  maxRetryDelayMs?: number;
  /** The fetch to use (tests, instrumentation); the global one by default. */
  fetch?: typeof fetch;
}

/** The client: the generated, typed `api` for every operation, and the card flows a client developer reaches for. */
export interface CardsClient {
  /** Every operation of the OpenAPI document, typed (openapi-fetch): `api.GET('/v1/cards/{id}', …)`. */
  api: Client<paths>;
  /**
   * Requests a card. The request carries an Idempotency-Key (a new UUID unless given), so the retries of a 5xx, a
   * 429 or a lost answer can never make a second card. With `waitSeconds`, the answer is held until the card is
   * terminal or the wait ends (`Prefer: wait`); either way the card comes back as it then is.
   */
  requestCard(color: CardColor, options?: { idempotencyKey?: string; waitSeconds?: number }): Promise<Card>;
  /** Reads one of the caller's cards; with `waitSeconds`, long-polls until it is terminal or the wait ends. */
  getCard(cardId: string, options?: { waitSeconds?: number }): Promise<Card>;
  /** Long-polls a card until it is ACTIVE or FAILED; rejects when `timeoutMs` (60 s by default) passes first. */
  waitForTerminal(cardId: string, options?: { timeoutMs?: number }): Promise<Card>;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Whether another try of the same request may get another answer. */
const retryable = (status: number): boolean => status >= 500 || status === 429;

/**
 * A fetch that retries what may succeed later: 5xx, 429 and failed connections, waiting what Retry-After says (or a
 * doubling backoff), at most `maxRetries` times. Safe for every request this client makes: reads are safe to repeat,
 * and a card request carries its Idempotency-Key into each retry.
 */
function retryingFetch(options: CardsClientOptions): typeof fetch {
  const base = options.fetch ?? globalThis.fetch;
  const maxRetries = options.maxRetries ?? 3;
  const baseDelayMs = options.retryBaseDelayMs ?? 250;
  const maxDelayMs = options.maxRetryDelayMs ?? 10_000;
  return async (input, init) => {
    const request = new Request(input, init);
    for (let attempt = 0; ; attempt++) {
      let response: Response | undefined;
      try {
        response = await base(request.clone());
      } catch (error) {
        if (attempt >= maxRetries) {
          throw error;
        }
      }
      if (response && (!retryable(response.status) || attempt >= maxRetries)) {
        return response;
      }
      const retryAfterSeconds = Number(response?.headers.get('retry-after'));
      const delayMs =
        Number.isFinite(retryAfterSeconds) && retryAfterSeconds >= 0 && response?.headers.has('retry-after')
          ? retryAfterSeconds * 1000
          : baseDelayMs * 2 ** attempt;
      await response?.body?.cancel();
      await sleep(Math.min(delayMs, maxDelayMs));
    }
  };
}

function assertCard(result: { data?: Card; error?: unknown; response: Response }): Card {
  if (result.data !== undefined && result.response.ok) {
    return result.data;
  }
  throw new CardsApiError(result.response.status, result.error ?? {});
}

const isTerminal = (card: Card): boolean => card.status === 'ACTIVE' || card.status === 'FAILED';

/** A client of card-api for one user (or admin) token. */
export function createCardsClient(options: CardsClientOptions): CardsClient {
  const api = createClient<paths>({ baseUrl: options.baseUrl, fetch: retryingFetch(options) });
  api.use({
    async onRequest({ request }) {
      const token = typeof options.token === 'string' ? options.token : await options.token();
      request.headers.set('Authorization', `Bearer ${token}`);
      return request;
    },
  });
  const prefer = (waitSeconds: number | undefined) =>
    waitSeconds === undefined ? undefined : `wait=${Math.max(0, Math.floor(waitSeconds))}`;

  const getCard: CardsClient['getCard'] = async (cardId, getOptions = {}) =>
    assertCard(
      await api.GET('/v1/cards/{id}', {
        params: { path: { id: cardId }, header: { Prefer: prefer(getOptions.waitSeconds) } },
      }),
    );

  return {
    api,
    async requestCard(color, requestOptions = {}) {
      return assertCard(
        await api.POST('/v1/cards', {
          body: { color },
          params: {
            header: {
              'Idempotency-Key': requestOptions.idempotencyKey ?? globalThis.crypto.randomUUID(),
              Prefer: prefer(requestOptions.waitSeconds),
            },
          },
        }),
      );
    },
    getCard,
    async waitForTerminal(cardId, waitOptions = {}) {
      const deadline = Date.now() + (waitOptions.timeoutMs ?? 60_000);
      for (;;) {
        const secondsLeft = Math.ceil((deadline - Date.now()) / 1000);
        const card = await getCard(cardId, { waitSeconds: Math.max(0, Math.min(secondsLeft, 30)) });
        if (isTerminal(card)) {
          return card;
        }
        if (Date.now() >= deadline) {
          throw new Error(
            `card ${cardId} is still ${card.status} after ${waitOptions.timeoutMs ?? 60_000} ms`,
          );
        }
      }
    },
  };
}
