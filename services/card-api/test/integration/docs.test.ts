import { buildOpenApiDocument } from '@cards/contracts';

import { startCardApi, type CardApiHarness } from '../support/card-api';

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
});
