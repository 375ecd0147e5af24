import { buildOpenApiDocument, CardSchema, ErrorCode, ProblemSchema } from '@cards/contracts';

import { buildCardRequest, startCardApi, type CardApiHarness } from '../support/card-api';

describe('API documentation', () => {
  let harness: CardApiHarness;

  beforeAll(async () => {
    harness = await startCardApi('docs');
  });

  afterAll(() => harness.stop());

  it('when /openapi.json is fetched, then it is the document generated from the contracts', async () => {
    const response = await harness.request('/openapi.json');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual(JSON.parse(JSON.stringify(buildOpenApiDocument())));
  });

  it.each(['/docs/', '/swagger/'])(
    'when %s is opened, then Swagger UI is served from local assets',
    async (path) => {
      const response = await harness.request(path);
      expect(response.status).toBe(200);
      const html = await response.text();
      expect(html).toContain('swagger-ui');
      expect(html).not.toMatch(/https?:\/\/(cdn|unpkg)/);
    },
  );

  it('when the type URI of any problem is fetched, then it serves a page saying what the code means', async () => {
    for (const code of Object.values(ErrorCode)) {
      const type = `/problems/${code.toLowerCase().replaceAll('_', '-')}`;
      const response = await harness.request(type);
      expect({ type, status: response.status }).toEqual({ type, status: 200 });
      expect(response.headers.get('content-type')).toMatch(/^text\/html/);
      expect(await response.text()).toContain(`<h1>${code}</h1>`);
    }
    expect((await harness.request('/problems/no-such-problem')).status).toBe(404);
  });

  it('when an error answer is followed to its type, then the page is the one for its code', async () => {
    const { token } = await harness.createUser();
    const answer = await harness.request(`/v1/cards/${crypto.randomUUID()}`, { token });
    const problem = ProblemSchema.parse(await answer.json());

    const page = await harness.request(problem.type);

    expect(page.status).toBe(200);
    expect(await page.text()).toContain(`<h1>${problem.code}</h1>`);
  });

  it('when a PENDING card is read, then Retry-After says when to look again', async () => {
    const { token } = await harness.createUser();
    const created = CardSchema.parse(
      await (await harness.request('/v1/cards', { method: 'POST', token, body: buildCardRequest() })).json(),
    );

    const read = await harness.request(`/v1/cards/${created.id}`, { token });

    expect(CardSchema.parse(await read.json()).status).toBe('PENDING');
    expect(read.headers.get('retry-after')).toBe('1');
  });
});
