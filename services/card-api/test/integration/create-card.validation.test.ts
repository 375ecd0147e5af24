import { ProblemSchema } from '@cards/contracts';

import { buildCardRequest, startCardApi, type CardApiHarness } from '../support/card-api';

describe('POST /v1/cards with bad input', () => {
  let harness: CardApiHarness;
  let token: string;

  beforeAll(async () => {
    harness = await startCardApi('create-card-validation', { HTTP_BODY_LIMIT: '1kb' });
    ({ token } = await harness.createUser());
  });

  afterAll(() => harness.stop());

  async function problem(response: Response) {
    expect(response.headers.get('content-type')).toContain('application/problem+json');
    return ProblemSchema.parse(await response.json());
  }

  async function cardCount(): Promise<number> {
    const [row] = await harness.db('cards').count<{ count: string }[]>({ count: '*' });
    return Number(row?.count);
  }

  it('when the colour is unknown, then it is 422 naming body.color, and nothing is stored', async () => {
    const response = await harness.request('/v1/cards', {
      method: 'POST',
      token,
      body: buildCardRequest({ color: 'red' }),
    });
    expect(response.status).toBe(422);
    const body = await problem(response);
    expect(body.code).toBe('VALIDATION_FAILED');
    expect(body.errors?.map((error) => error.path)).toEqual(['body.color']);
    expect(await cardCount()).toBe(0);
  });

  it('when the body has an unknown field, then it is 422', async () => {
    const response = await harness.request('/v1/cards', {
      method: 'POST',
      token,
      body: buildCardRequest({ colour: 'gold' }),
    });
    expect(response.status).toBe(422);
    expect((await problem(response)).errors?.[0]?.message).toMatch(/colour/);
  });

  it('when there is no body, then it is 422 VALIDATION_FAILED', async () => {
    const response = await harness.request('/v1/cards', { method: 'POST', token });
    expect(response.status).toBe(422);
    expect((await problem(response)).code).toBe('VALIDATION_FAILED');
  });

  it('when the JSON is malformed, then it is 400 MALFORMED_JSON', async () => {
    const response = await harness.request('/v1/cards', { method: 'POST', token, body: '{"color": "gold"' });
    expect(response.status).toBe(400);
    expect((await problem(response)).code).toBe('MALFORMED_JSON');
  });

  it('when the body is not JSON, then it is 415 UNSUPPORTED_MEDIA_TYPE', async () => {
    const response = await harness.request('/v1/cards', {
      method: 'POST',
      token,
      body: 'color=gold',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(response.status).toBe(415);
    expect((await problem(response)).code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('when the body is over the size limit, then it is 413 PAYLOAD_TOO_LARGE', async () => {
    const response = await harness.request('/v1/cards', {
      method: 'POST',
      token,
      body: buildCardRequest({ padding: 'x'.repeat(2048) }),
    });
    expect(response.status).toBe(413);
    expect((await problem(response)).code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('when the route does not exist, then it is 404 problem+json', async () => {
    const response = await harness.request('/v1/nothing', { token });
    expect(response.status).toBe(404);
    expect((await problem(response)).code).toBe('ROUTE_NOT_FOUND');
  });
});
