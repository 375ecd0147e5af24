/**
 * The HTTP side both baseline servers share, as bare as it gets: node:http, `POST /v1/cards` with a JSON
 * `{ color }`, `GET /healthz`; a pg pool from DATABASE_URL and POOL_MAX; PORT. Who the caller is (headers), what the
 * card is, and how it is answered differ between them.
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';

import pg from 'pg';

/** What a baseline answers a card request with. */
export interface CardAnswer {
  status: number;
  headers?: Record<string, string>;
  body: unknown;
}

/** The pool every baseline uses, sized like card-api's. */
export const pool = new pg.Pool({
  connectionString: process.env['DATABASE_URL'],
  max: Number(process.env['POOL_MAX'] ?? 10),
});

/** Serves card requests with `handle`; a rejection answers `failureStatus` with the error as text. */
export function serveCardRequests(
  handle: (headers: IncomingHttpHeaders, color: string) => Promise<CardAnswer>,
  failureStatus: number,
): void {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.method === 'GET' && req.url === '/healthz') {
        res.writeHead(200).end('ok');
        return;
      }
      if (req.method !== 'POST' || req.url !== '/v1/cards') {
        res.writeHead(404).end();
        return;
      }
      const { color } = JSON.parse(Buffer.concat(chunks).toString()) as { color: string };
      handle(req.headers, color).then(
        (answer) => {
          res
            .writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers })
            .end(JSON.stringify(answer.body));
        },
        (error: unknown) => {
          // An error may carry the status it stands for (401 no caller, 409 card limit); others are failureStatus.
          const status =
            typeof error === 'object' &&
            error !== null &&
            'status' in error &&
            typeof error.status === 'number'
              ? error.status
              : failureStatus;
          res.writeHead(status, { 'content-type': 'text/plain' }).end(String(error));
        },
      );
    });
  });

  server.listen(Number(process.env['PORT'] ?? 0), '127.0.0.1');
  process.on('SIGTERM', () => {
    server.close();
    server.closeIdleConnections();
    void pool.end();
  });
}
