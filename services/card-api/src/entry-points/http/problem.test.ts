import { createLogger, listen, type ListeningServer } from '@cards/runtime';
import express from 'express';

import { AppError } from '@cards/contracts';
import { problemHandler, routeNotFound } from './problem';

describe('problem+json mapping', () => {
  let server: ListeningServer;

  beforeAll(async () => {
    const app = express();
    app.use(express.json({ limit: '1kb' }));
    app.post('/echo', (req, res) => {
      res.json(req.body);
    });
    app.get('/conflict', () => {
      throw new AppError({ code: 'NOT_FOUND', kind: 'not-found', message: 'Card not found' });
    });
    app.get('/busy', () => {
      throw new AppError({
        code: 'IDEMPOTENCY_REQUEST_IN_PROGRESS',
        kind: 'conflict',
        message: 'Request in progress',
        details: { detail: 'Retry shortly.' },
        retryAfterSeconds: 1,
      });
    });
    app.get('/boom', () => {
      throw new Error('connection string postgres://secret@db leaked?');
    });
    app.use(routeNotFound);
    app.use(problemHandler(createLogger({ service: 'test', level: 'silent' })));
    server = await listen(app, 0, '127.0.0.1');
  });

  afterAll(() => server.close());

  async function problemFrom(response: Response): Promise<Record<string, unknown>> {
    expect(response.headers.get('content-type')).toBe('application/problem+json; charset=utf-8');
    return (await response.json()) as Record<string, unknown>;
  }

  it('when a domain error is thrown, then its kind picks the status and its code is kept', async () => {
    const response = await fetch(`${server.url}/conflict`);
    expect(response.status).toBe(404);
    expect(await problemFrom(response)).toMatchObject({
      type: '/problems/not-found',
      code: 'NOT_FOUND',
      title: 'Card not found',
      status: 404,
    });
  });

  it('when an error says when to retry, then the status of its kind, its code and Retry-After are answered', async () => {
    const response = await fetch(`${server.url}/busy`);
    expect(response.status).toBe(409);
    expect(response.headers.get('retry-after')).toBe('1');
    expect(await problemFrom(response)).toMatchObject({
      type: '/problems/idempotency-request-in-progress',
      code: 'IDEMPOTENCY_REQUEST_IN_PROGRESS',
      title: 'Request in progress',
      detail: 'Retry shortly.',
      status: 409,
    });
  });

  it('when an unexpected error is thrown, then it is a 500 that leaks nothing of the error', async () => {
    const response = await fetch(`${server.url}/boom`);
    expect(response.status).toBe(500);
    const body = JSON.stringify(await problemFrom(response));
    expect(body).toContain('"code":"INTERNAL"');
    expect(body).not.toContain('postgres');
    expect(body).not.toContain('stack');
  });

  it('when the body is not JSON, then it is 400 MALFORMED_JSON', async () => {
    const response = await fetch(`${server.url}/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"color": ',
    });
    expect(response.status).toBe(400);
    expect(await problemFrom(response)).toMatchObject({ code: 'MALFORMED_JSON' });
  });

  it('when the body is over the limit, then it is 413 PAYLOAD_TOO_LARGE', async () => {
    const response = await fetch(`${server.url}/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ padding: 'x'.repeat(4096) }),
    });
    expect(response.status).toBe(413);
    expect(await problemFrom(response)).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
  });

  it('when no route matches, then it is 404 ROUTE_NOT_FOUND naming the path', async () => {
    const response = await fetch(`${server.url}/nowhere`);
    expect(response.status).toBe(404);
    expect(await problemFrom(response)).toMatchObject({
      code: 'ROUTE_NOT_FOUND',
      detail: 'No route for GET /nowhere',
    });
  });
});
