import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { RetryBudgetExhaustedError } from '@cards/runtime';

import { HttpProviderCardReader } from './provider-client';

/** A retry budget short enough for a test: a few attempts in a third of a second. */
const SHORT_BUDGET = { budgetMs: 300, initialDelayMs: 10, maxDelayMs: 50 };

const card = {
  id: 'pc_1',
  reference: '7d1f8a52-3c3b-4b1e-9a55-0c8f9d6e2a10',
  color: 'gold',
  cardholderRef: '0f6c2a9e-51d4-4c1a-8a43-7f2b9e3d5c11',
  status: 'ACTIVE',
  last4: '4242',
  expMonth: 9,
  expYear: 2030,
  createdAt: '2026-01-01T12:00:00.000Z',
  cancelledAt: null,
};

/** A provider stand-in answering each path from a table; records the URLs asked. */
async function provider(routes: Record<string, { status: number; body: unknown }>) {
  const asked: string[] = [];
  const server: Server = createServer((req, res) => {
    asked.push(req.url ?? '');
    const route = routes[(req.url ?? '').split('?')[0] ?? ''] ?? {
      status: 404,
      body: { error: 'x', message: 'y' },
    };
    res.writeHead(route.status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(route.body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    asked,
    reader: new HttpProviderCardReader({
      baseUrl: `http://127.0.0.1:${port}/`,
      timeoutMs: 2000,
      retry: SHORT_BUDGET,
    }),
    close: () =>
      new Promise<void>((resolve) =>
        server.close(() => {
          resolve();
        }),
      ),
  };
}

describe('HttpProviderCardReader', () => {
  it('when listing, then it asks for the window and limit and returns the validated cards', async () => {
    const stub = await provider({ '/v1/cards': { status: 200, body: { data: [card] } } });
    try {
      const cards = await stub.reader.listCards({
        createdFrom: new Date('2026-01-01T00:00:00.000Z'),
        createdTo: new Date('2026-01-02T00:00:00.000Z'),
        limit: 5000,
      });

      expect(cards).toEqual([card]);
      expect(stub.asked).toEqual([
        '/v1/cards?createdFrom=2026-01-01T00%3A00%3A00.000Z&createdTo=2026-01-02T00%3A00%3A00.000Z&limit=1000',
      ]);
    } finally {
      await stub.close();
    }
  });

  it('when the provider answers something the contract does not allow, then it fails naming the field, not its value', async () => {
    const stub = await provider({
      '/v1/cards': { status: 200, body: { data: [{ ...card, last4: '12x' }] } },
    });
    try {
      const listing = stub.reader.listCards({ createdFrom: new Date(0), createdTo: new Date(), limit: 10 });

      await expect(listing).rejects.toThrow(
        /provider card list breaks the provider contract: data\.0\.last4/,
      );
      await expect(listing).rejects.not.toThrow(/12x/);
    } finally {
      await stub.close();
    }
  });

  it('when a card is unknown, then findCard answers undefined; other failures throw', async () => {
    const stub = await provider({
      '/v1/cards/pc_1': { status: 200, body: card },
      '/v1/cards/pc_down': { status: 503, body: { error: 'x', message: 'y' } },
    });
    try {
      expect(await stub.reader.findCard('pc_1')).toEqual(card);
      expect(await stub.reader.findCard('pc_missing')).toBeUndefined();
      await expect(stub.reader.findCard('pc_down')).rejects.toThrow(
        /gave up after \d+ attempt\(s\): provider card pc_down answered HTTP 503/,
      );
    } finally {
      await stub.close();
    }
  });

  it('when the provider fails transiently and then answers, then the list comes back', async () => {
    const answers = [500, 503, 429, 200];
    const server = createServer((_req, res) => {
      const status = answers.shift() ?? 200;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(status === 200 ? { data: [card] } : { error: 'x', message: 'y' }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const reader = new HttpProviderCardReader({
      baseUrl: `http://127.0.0.1:${port}`,
      timeoutMs: 1000,
      retry: { budgetMs: 5000, initialDelayMs: 10, maxDelayMs: 20 },
    });
    try {
      const window = { createdFrom: new Date(0), createdTo: new Date(), limit: 10 };

      await expect(reader.listCards(window)).resolves.toEqual([card]);
      expect(answers).toEqual([]);
    } finally {
      server.close();
    }
  });

  it('when the provider keeps failing past the budget, then the reader gives up with the attempts and the last failure', async () => {
    const stub = await provider({ '/v1/cards': { status: 500, body: { error: 'x', message: 'y' } } });
    try {
      const window = { createdFrom: new Date(0), createdTo: new Date(), limit: 10 };
      const listing = stub.reader.listCards(window);

      await expect(listing).rejects.toThrow(RetryBudgetExhaustedError);
      await expect(listing).rejects.toThrow(/provider card list answered HTTP 500/);
      expect(stub.asked.length).toBeGreaterThan(1);
    } finally {
      await stub.close();
    }
  });

  it('when the provider answers a 4xx or breaks the contract, then it is not asked again', async () => {
    const stub = await provider({
      '/v1/cards': { status: 200, body: { data: [{ ...card, last4: '12x' }] } },
      '/v1/cards/pc_gone': { status: 410, body: { error: 'x', message: 'y' } },
    });
    try {
      const window = { createdFrom: new Date(0), createdTo: new Date(), limit: 10 };

      await expect(stub.reader.listCards(window)).rejects.toThrow(/breaks the provider contract/);
      await expect(stub.reader.findCard('pc_gone')).rejects.toThrow(/answered HTTP 410/);
      expect(stub.asked).toHaveLength(2);
    } finally {
      await stub.close();
    }
  });

  it('when the provider is unreachable, then the error says where it looked', async () => {
    const reader = new HttpProviderCardReader({
      baseUrl: 'http://127.0.0.1:1',
      timeoutMs: 1000,
      retry: SHORT_BUDGET,
    });

    await expect(reader.findCard('pc_1')).rejects.toThrow(/provider unreachable at http:\/\/127\.0\.0\.1:1/);
  });

  it('when the signal aborts (shutdown), then a call in flight stops at once', async () => {
    const server = createServer(() => undefined); // never answers
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const shutdown = new AbortController();
    const reader = new HttpProviderCardReader({
      baseUrl: `http://127.0.0.1:${port}`,
      timeoutMs: 30_000,
      signal: shutdown.signal,
    });
    try {
      const call = reader.findCard('pc_1');
      setTimeout(() => {
        shutdown.abort();
      }, 50);

      await expect(call).rejects.toThrow(/provider unreachable/);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
