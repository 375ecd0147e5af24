import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { createLogger, type DestinationStream } from './logger';
import { loggedHeaders, requestLogger } from './request-logger';

/** An HTTP server logging each request through requestLogger into memory, answering with `status`. */
async function loggedServer(
  status: number,
): Promise<{ url: string; lines: () => Record<string, unknown>[]; close: () => Promise<void> }> {
  const chunks: string[] = [];
  const destination: DestinationStream = {
    write: (chunk: string) => {
      chunks.push(chunk);
    },
  };
  const log = requestLogger(createLogger({ service: 'request-logger-test', level: 'trace', destination }));
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    res.setHeader('x-request-id', 'req-42');
    log(req, res);
    res.statusCode = status;
    res.setHeader('set-cookie', 'session=SECRET-cookie-out');
    res.end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((line) => line.length > 0)
        .map((line) => JSON.parse(line) as Record<string, unknown>),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      }),
  };
}

describe('requestLogger', () => {
  it('when a request is answered, then one line names method, path, status and allowlisted headers, with credentials redacted', async () => {
    const server = await loggedServer(202);
    try {
      await fetch(`${server.url}/v1/cards?token=SECRET-query`, {
        method: 'POST',
        headers: {
          authorization: 'Bearer SECRET-jwt',
          cookie: 'session=SECRET-cookie',
          'content-type': 'application/json',
          'x-card-number': '4111111111111111',
          'x-api-key': 'SECRET-api-key',
        },
        body: '{}',
      });
      // The line is written on the response's finish, which may come a moment after the client has the answer.
      for (let attempt = 0; attempt < 50 && server.lines().length === 0; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    } finally {
      await server.close();
    }

    const lines = server.lines();
    expect(lines).toHaveLength(1);
    const [line] = lines;
    expect(line).toMatchObject({
      level: 'info',
      msg: expect.stringMatching(/^POST \/v1\/cards 202 \d+ ms$/) as unknown,
      res: { statusCode: 202 },
      responseTime: expect.any(Number) as unknown,
      req: {
        id: 'req-42',
        method: 'POST',
        path: '/v1/cards',
        remoteAddress: '127.0.0.1',
        headers: {
          'content-type': 'application/json',
          'content-length': '2',
          authorization: '[redacted]',
          cookie: '[redacted]',
        },
      },
    });
    const text = JSON.stringify(lines);
    expect(text).not.toContain('SECRET');
    expect(text).not.toContain('4111111111111111');
    expect(text).not.toContain('x-card-number');
  });

  it('when a request fails with a 5xx, then the line is an error with the status', async () => {
    const server = await loggedServer(503);
    try {
      await fetch(`${server.url}/readyz-not-quiet`);
      for (let attempt = 0; attempt < 50 && server.lines().length === 0; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    } finally {
      await server.close();
    }

    expect(server.lines()).toEqual([
      expect.objectContaining({
        level: 'error',
        msg: 'GET /readyz-not-quiet 503',
        res: { statusCode: 503 },
      }),
    ]);
  });
});

describe('loggedHeaders', () => {
  it('when an allowlisted header names a URL with a password, then the password is masked', () => {
    expect(
      loggedHeaders({
        origin: 'https://user:SECRET-pw@example.com',
        'x-forwarded-for': ['10.0.0.1', '10.0.0.2'],
        'proxy-authorization': 'Basic SECRET',
        'x-custom': 'anything',
      }),
    ).toEqual({
      origin: 'https://user:[redacted]@example.com',
      'x-forwarded-for': ['10.0.0.1', '10.0.0.2'],
      'proxy-authorization': '[redacted]',
    });
  });
});

describe('requestLogger when the client goes away', () => {
  it('when the client closes before the answer, then the line says aborted, not a status the server never sent', async () => {
    const chunks: string[] = [];
    const log = requestLogger(
      createLogger({
        service: 'request-logger-test',
        level: 'trace',
        destination: {
          write: (chunk: string) => {
            chunks.push(chunk);
          },
        },
      }),
    );
    const server = createServer((req, res) => {
      log(req, res);
      // Never answered: the client gives up first.
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      await fetch(`http://127.0.0.1:${port}/v1/cards`, {
        method: 'POST',
        signal: AbortSignal.timeout(100),
      }).catch(() => undefined);
      for (let attempt = 0; attempt < 100 && chunks.length === 0; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      });
    }

    const [line] = chunks.map((chunk) => JSON.parse(chunk) as Record<string, unknown>);
    expect(line).toMatchObject({
      msg: expect.stringMatching(/^POST \/v1\/cards aborted by the client after \d+ ms$/) as unknown,
      res: { statusCode: null },
    });
  });
});
