import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import type { ProviderCreateCardRequest } from '@cards/contracts';

import { HttpProviderClient } from './http-provider-client';

/** What the fake provider saw of one request. */
interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

type Answer = (res: ServerResponse) => void;

/** A tiny HTTP server standing in for the provider: each test says how it answers. */
class FakeProviderServer {
  readonly seen: SeenRequest[] = [];
  /** TCP connections the provider accepted. */
  connections = 0;
  answer: Answer = (res) => {
    json(res, 500, { error: 'unset', message: 'no answer set' });
  };
  private readonly server: Server;

  constructor() {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        this.seen.push({
          method: req.method ?? '',
          url: req.url ?? '',
          headers: req.headers,
          body: Buffer.concat(chunks).toString(),
        });
        this.answer(res);
      });
    });
    this.server.on('connection', () => {
      this.connections++;
    });
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) =>
      this.server.close(() => {
        resolve();
      }),
    );
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

function buildRequest(): ProviderCreateCardRequest {
  return { reference: randomUUID(), color: 'blue', cardholderRef: randomUUID() };
}

function providerCard(request: ProviderCreateCardRequest): Record<string, unknown> {
  return {
    id: 'pc_123',
    ...request,
    status: 'ACTIVE',
    last4: '4242',
    expMonth: 12,
    expYear: 2030,
    createdAt: '2026-11-28T10:00:00.000Z',
    cancelledAt: null,
  };
}

describe('HttpProviderClient', () => {
  const provider = new FakeProviderServer();
  let client: HttpProviderClient;
  let baseUrl: string;

  beforeAll(async () => {
    baseUrl = await provider.start();
    client = new HttpProviderClient({ baseUrl, timeoutMs: 300 });
  });

  afterAll(async () => {
    await client.close();
    await provider.stop();
  });

  describe('createCard', () => {
    it('when the provider answers 201 with a card, then it is created, and the request carried the idempotency key and body', async () => {
      const request = buildRequest();
      provider.answer = (res) => {
        json(res, 201, providerCard(request));
      };

      const outcome = await client.createCard(request, request.reference);

      expect(outcome).toEqual({ kind: 'created', card: providerCard(request) });
      const seen = provider.seen.at(-1);
      expect(seen).toMatchObject({ method: 'POST', url: '/v1/cards' });
      expect(seen?.headers['idempotency-key']).toBe(request.reference);
      expect(seen?.headers['content-type']).toBe('application/json');
      expect(JSON.parse(seen?.body ?? '')).toEqual(request);
    });

    it('when the provider answers 200 (the same key again), then it is created too', async () => {
      const request = buildRequest();
      provider.answer = (res) => {
        json(res, 200, providerCard(request));
      };

      await expect(client.createCard(request, request.reference)).resolves.toMatchObject({ kind: 'created' });
    });

    it('when the card breaks the schema, then it is a contract violation naming the fields, not their values', async () => {
      const request = buildRequest();
      provider.answer = (res) => {
        json(res, 201, { ...providerCard(request), last4: '42x2', expMonth: 13, id: undefined });
      };

      const outcome = await client.createCard(request, request.reference);

      expect(outcome.kind).toBe('contract-violation');
      const reason = outcome.kind === 'contract-violation' ? outcome.reason : '';
      expect(reason).toContain('last4');
      expect(reason).toContain('expMonth');
      expect(reason).toContain('id');
      expect(reason).not.toContain('42x2');
    });

    it('when a 2xx body is not JSON, then it is a contract violation', async () => {
      provider.answer = (res) => res.writeHead(201, { 'content-type': 'text/plain' }).end('card created!');

      await expect(client.createCard(buildRequest(), randomUUID())).resolves.toEqual({
        kind: 'contract-violation',
        reason: 'HTTP 201 answer is not JSON',
      });
    });

    it('when the provider answers a redirect, then it is a contract violation and the redirect is not followed', async () => {
      provider.answer = (res) => res.writeHead(302, { location: `${baseUrl}/elsewhere` }).end();
      const before = provider.seen.length;

      await expect(client.createCard(buildRequest(), randomUUID())).resolves.toEqual({
        kind: 'contract-violation',
        reason: 'unexpected HTTP 302',
      });
      expect(provider.seen).toHaveLength(before + 1);
    });

    it('when the provider answers 422 with an error, then it is rejected with the provider message', async () => {
      provider.answer = (res) => {
        json(res, 422, { error: 'cardholder_blocked', message: 'Cardholder is blocked' });
      };

      await expect(client.createCard(buildRequest(), randomUUID())).resolves.toEqual({
        kind: 'rejected',
        status: 422,
        message: 'Cardholder is blocked',
      });
    });

    it('when the provider’s message holds a card number or is huge, then the number is removed and the length bounded', async () => {
      provider.answer = (res) => {
        json(res, 422, {
          error: 'card_declined',
          message: `Card 4111 1111 1111 1111 and 5500-0000-0000-0004 declined (ref 2026112812) ${'x'.repeat(2000)}`,
        });
      };

      const outcome = await client.createCard(buildRequest(), randomUUID());
      expect(outcome).toMatchObject({
        kind: 'rejected',
        message: expect.stringMatching(
          /^Card \[number removed\] and \[number removed\] declined \(ref 2026112812\) x+$/,
        ) as unknown,
      });
      expect((outcome as { message: string }).message).toHaveLength(500);
    });

    it('when the provider’s message holds NUL or lone surrogates, then what travels on is storable text', async () => {
      provider.answer = (res) => {
        res.writeHead(422, { 'content-type': 'application/json' });
        res.end('{"error":"x","message":"bad\\u0000 text \\ud800 here"}');
      };

      await expect(client.createCard(buildRequest(), randomUUID())).resolves.toMatchObject({
        kind: 'rejected',
        message: 'bad text \ufffd here',
      });
    });

    it('when a 4xx carries no error body, then it is rejected with a message naming the status', async () => {
      provider.answer = (res) => res.writeHead(400).end('bad');

      await expect(client.createCard(buildRequest(), randomUUID())).resolves.toEqual({
        kind: 'rejected',
        status: 400,
        message: 'Provider refused the request with HTTP 400',
      });
    });

    it.each([500, 502, 503, 429, 408])(
      'when the provider answers %i, then it is unavailable (worth another attempt)',
      async (status) => {
        provider.answer = (res) => {
          json(res, status, { error: 'oops', message: 'try later' });
        };

        await expect(client.createCard(buildRequest(), randomUUID())).resolves.toEqual({
          kind: 'unavailable',
          reason: `HTTP ${status}`,
        });
      },
    );

    it('when the provider does not answer in time, then it is unavailable, within the timeout', async () => {
      provider.answer = () => undefined;
      const startedAt = Date.now();

      const outcome = await client.createCard(buildRequest(), randomUUID());

      expect(outcome).toEqual({ kind: 'unavailable', reason: 'no answer within 300 ms' });
      expect(Date.now() - startedAt).toBeLessThan(2000);
    });

    it('when the provider sends headers and then stalls the body, then it is unavailable (the timeout covers the body)', async () => {
      provider.answer = (res) => {
        res.writeHead(201, { 'content-type': 'application/json' });
        res.write('{"id":');
      };

      await expect(client.createCard(buildRequest(), randomUUID())).resolves.toEqual({
        kind: 'unavailable',
        reason: 'no answer within 300 ms',
      });
    });

    it('when nothing listens, then it is unavailable with the connection error', async () => {
      // A port that was just free: fetch refuses well-known ports such as 1 outright ("bad port").
      const gone = new FakeProviderServer();
      const goneUrl = await gone.start();
      await gone.stop();
      const closed = new HttpProviderClient({ baseUrl: goneUrl, timeoutMs: 1000 });

      await expect(closed.createCard(buildRequest(), randomUUID())).resolves.toEqual({
        kind: 'unavailable',
        reason: 'connection failed: ECONNREFUSED',
      });
    });

    it('when the base URL ends with a slash, then the path is still /v1/cards', async () => {
      const request = buildRequest();
      provider.answer = (res) => {
        json(res, 201, providerCard(request));
      };
      const slashed = new HttpProviderClient({ baseUrl: `${baseUrl}/`, timeoutMs: 300 });

      await slashed.createCard(request, request.reference);

      expect(provider.seen.at(-1)?.url).toBe('/v1/cards');
    });
  });

  describe('cancelCard', () => {
    const cancelledCard = (id: string): Record<string, unknown> => ({
      ...providerCard(buildRequest()),
      id,
      status: 'CANCELLED',
      cancelledAt: '2026-11-28T11:00:00.000Z',
    });

    it('when the provider answers 200 with the card CANCELLED, then it is cancelled, and the card id was encoded into the path', async () => {
      provider.answer = (res) => {
        json(res, 200, cancelledCard('pc:1'));
      };

      await expect(client.cancelCard('pc:1')).resolves.toEqual({ kind: 'cancelled' });
      expect(provider.seen.at(-1)).toMatchObject({ method: 'POST', url: '/v1/cards/pc%3A1/cancel' });
    });

    it.each([
      [
        'the card still ACTIVE',
        (): unknown => ({ ...cancelledCard('pc_1'), status: 'ACTIVE', cancelledAt: null }),
      ],
      ['another card', (): unknown => cancelledCard('pc_2')],
      ['a body that breaks the card contract', (): unknown => ({ id: 'pc_1', status: 'CANCELLED' })],
      ['an empty object', (): unknown => ({})],
    ])(
      'when the provider answers 200 with %s, then it is a contract violation, not a cancellation',
      async (_what, body) => {
        provider.answer = (res) => {
          json(res, 200, body());
        };

        const outcome = await client.cancelCard('pc_1');

        expect(outcome).toMatchObject({ kind: 'contract-violation' });
      },
    );

    it('when the provider answers 200 with a body that is not JSON, then it is a contract violation', async () => {
      provider.answer = (res) => {
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      };

      await expect(client.cancelCard('pc_1')).resolves.toMatchObject({ kind: 'contract-violation' });
    });

    it('when the provider answers 404, then the card is not found (nothing left to cancel)', async () => {
      provider.answer = (res) => {
        json(res, 404, { error: 'not_found', message: 'No such card' });
      };

      await expect(client.cancelCard('pc_missing')).resolves.toEqual({ kind: 'not-found' });
    });

    it('when the provider answers another 4xx, then it is rejected', async () => {
      provider.answer = (res) => {
        json(res, 409, { error: 'locked', message: 'Card is locked' });
      };

      await expect(client.cancelCard('pc_1')).resolves.toEqual({
        kind: 'rejected',
        status: 409,
        message: 'Card is locked',
      });
    });

    it('when the provider answers 5xx, then it is unavailable', async () => {
      provider.answer = (res) => {
        json(res, 503, { error: 'outage', message: 'down' });
      };

      await expect(client.cancelCard('pc_1')).resolves.toEqual({ kind: 'unavailable', reason: 'HTTP 503' });
    });
  });

  describe('findCardsByReference', () => {
    it('when the provider lists a card for the reference, then it is found, asked for by reference with a GET', async () => {
      const request = buildRequest();
      const card = providerCard(request);
      provider.answer = (res) => {
        json(res, 200, { data: [card] });
      };

      await expect(client.findCardsByReference(request.reference)).resolves.toEqual({
        kind: 'found',
        cards: [card],
      });
      expect(provider.seen.at(-1)).toMatchObject({ method: 'GET' });
      expect(new URL(provider.seen.at(-1)?.url ?? '', baseUrl).searchParams.get('reference')).toBe(
        request.reference,
      );
    });

    it('when the list is empty or holds only other references, then nothing is found', async () => {
      provider.answer = (res) => {
        json(res, 200, { data: [providerCard(buildRequest())] });
      };

      await expect(client.findCardsByReference(randomUUID())).resolves.toEqual({ kind: 'not-found' });
    });

    it('when the provider answers 5xx, then it is unavailable; a broken list is a contract violation', async () => {
      provider.answer = (res) => {
        json(res, 502, { error: 'bad_gateway', message: 'down' });
      };
      await expect(client.findCardsByReference(randomUUID())).resolves.toMatchObject({ kind: 'unavailable' });

      provider.answer = (res) => {
        json(res, 200, { data: [{ id: 'pc_1' }] });
      };
      await expect(client.findCardsByReference(randomUUID())).resolves.toMatchObject({
        kind: 'contract-violation',
      });
    });
  });

  describe('connections', () => {
    it('when calls follow one another, then they reuse keep-alive connections', async () => {
      const request = buildRequest();
      provider.answer = (res) => {
        json(res, 201, providerCard(request));
      };
      const pooled = new HttpProviderClient({ baseUrl, timeoutMs: 1000, maxConnections: 4 });
      const before = provider.connections;

      for (let i = 0; i < 10; i++) {
        await expect(pooled.createCard(request, request.reference)).resolves.toMatchObject({
          kind: 'created',
        });
      }

      // undici may hand the next call to a second connection while the first finishes its answer; never one each.
      expect(provider.connections - before).toBeLessThanOrEqual(2);
      await pooled.close();
    });

    it('when more calls run than connections are allowed, then they wait for one and all succeed', async () => {
      const request = buildRequest();
      provider.answer = (res) => {
        setTimeout(() => {
          json(res, 201, providerCard(request));
        }, 20);
      };
      const pooled = new HttpProviderClient({ baseUrl, timeoutMs: 2000, maxConnections: 2 });
      const before = provider.connections;

      const outcomes = await Promise.all(
        Array.from({ length: 6 }, () => pooled.createCard(request, request.reference)),
      );

      expect(outcomes.every((outcome) => outcome.kind === 'created')).toBe(true);
      expect(provider.connections - before).toBeLessThanOrEqual(2);
      await pooled.close();
    });

    it('when a call hangs on the only connection, then it frees it at its timeout and the next call gets through', async () => {
      const request = buildRequest();
      provider.answer = () => undefined;
      const pooled = new HttpProviderClient({ baseUrl, timeoutMs: 400, maxConnections: 1 });

      const hung = pooled.createCard(request, request.reference);
      await new Promise((resolve) => setTimeout(resolve, 150));
      provider.answer = (res) => {
        json(res, 201, providerCard(request));
      };
      const next = pooled.createCard(request, request.reference);

      await expect(hung).resolves.toEqual({ kind: 'unavailable', reason: 'no answer within 400 ms' });
      await expect(next).resolves.toMatchObject({ kind: 'created' });
      await pooled.close();
    });
  });
});
