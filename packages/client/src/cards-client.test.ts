import { CardsApiError, createCardsClient, type Card } from './cards-client';

const card = (status: Card['status']): Card =>
  ({
    id: '0b8f7a52-7d1e-4c57-9a55-0f3b8e0d3a10',
    color: 'gold',
    status,
    last4: status === 'ACTIVE' ? '4242' : null,
    expMonth: null,
    expYear: null,
    failureCode: null,
    failureMessage: null,
    createdAt: '2026-12-05T00:00:00.000Z',
    updatedAt: '2026-12-05T00:00:00.000Z',
  }) as Card;

const json = (status: number, body: unknown, headers: Record<string, string> = {}): Response =>
  new Response(JSON.stringify(body), {
    status,
    headers: {
      'content-type': status >= 400 ? 'application/problem+json' : 'application/json',
      ...headers,
    },
  });

/** A fetch that answers from a script and records each request it was given. */
function scriptedFetch(answers: (() => Response)[]): { fetch: typeof fetch; requests: Request[] } {
  const requests: Request[] = [];
  return {
    requests,
    fetch: (input, init) => {
      const request = new Request(input, init);
      requests.push(request);
      const next = answers.shift();
      return next ? Promise.resolve(next()) : Promise.reject(new Error('no more scripted answers'));
    },
  };
}

const options = { baseUrl: 'http://cards.test', token: 'tkn', retryBaseDelayMs: 1 };

describe('the cards client', () => {
  it('when a card request meets a 503 and a 429, then it is retried after Retry-After with the same Idempotency-Key', async () => {
    const scripted = scriptedFetch([
      () => json(503, { code: 'OVERLOADED' }, { 'retry-after': '0' }),
      () => json(429, { code: 'RATE_LIMITED' }, { 'retry-after': '0' }),
      () => json(202, card('PENDING')),
    ]);
    const client = createCardsClient({ ...options, fetch: scripted.fetch });

    const accepted = await client.requestCard('gold');

    expect(accepted.status).toBe('PENDING');
    const keys = scripted.requests.map((request) => request.headers.get('idempotency-key'));
    expect(keys).toHaveLength(3);
    expect(keys[0]).toMatch(/^[\da-f-]{36}$/);
    expect(new Set(keys).size).toBe(1);
    expect(scripted.requests.every((request) => request.headers.get('authorization') === 'Bearer tkn')).toBe(
      true,
    );
    expect(await scripted.requests[2]?.json()).toEqual({ color: 'gold' });
  });

  it('when the server keeps failing, then it gives up after maxRetries with the problem as a CardsApiError', async () => {
    const scripted = scriptedFetch(
      Array.from({ length: 3 }, () => () => json(503, { code: 'SERVICE_UNAVAILABLE', detail: 'down' })),
    );
    const client = createCardsClient({ ...options, maxRetries: 2, fetch: scripted.fetch });

    const failure = await client
      .requestCard('gold', { idempotencyKey: 'k-1' })
      .catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(CardsApiError);
    expect(failure).toMatchObject({ status: 503, problem: { code: 'SERVICE_UNAVAILABLE' } });
    expect(scripted.requests.map((request) => request.headers.get('idempotency-key'))).toEqual([
      'k-1',
      'k-1',
      'k-1',
    ]);
  });

  it('when an answer is a 4xx other than 429, then it is not retried', async () => {
    const scripted = scriptedFetch([() => json(404, { code: 'CARD_NOT_FOUND', title: 'Card not found' })]);
    const client = createCardsClient({ ...options, fetch: scripted.fetch });

    await expect(client.getCard('0b8f7a52-7d1e-4c57-9a55-0f3b8e0d3a10')).rejects.toMatchObject({
      status: 404,
      problem: { code: 'CARD_NOT_FOUND' },
    });
    expect(scripted.requests).toHaveLength(1);
  });

  it('when waiting for a card, then it long-polls with Prefer: wait until the card is terminal', async () => {
    const scripted = scriptedFetch([
      () => json(200, card('PENDING')),
      () => json(200, card('PENDING')),
      () => json(200, card('ACTIVE')),
    ]);
    const client = createCardsClient({ ...options, fetch: scripted.fetch });

    const done = await client.waitForTerminal('0b8f7a52-7d1e-4c57-9a55-0f3b8e0d3a10', { timeoutMs: 45_000 });

    expect(done.status).toBe('ACTIVE');
    const prefers = scripted.requests.map((request) => request.headers.get('prefer'));
    expect(prefers).toHaveLength(3);
    expect(prefers.every((prefer) => /^wait=(29|30)$/.test(prefer ?? ''))).toBe(true);
  });

  it('when the wait runs out first, then waitForTerminal rejects naming the card and its status', async () => {
    const scripted = scriptedFetch([() => json(200, card('PENDING'))]);
    const client = createCardsClient({ ...options, fetch: scripted.fetch });

    await expect(
      client.waitForTerminal('0b8f7a52-7d1e-4c57-9a55-0f3b8e0d3a10', { timeoutMs: 0 }),
    ).rejects.toThrow('card 0b8f7a52-7d1e-4c57-9a55-0f3b8e0d3a10 is still PENDING after 0 ms');
  });
});
