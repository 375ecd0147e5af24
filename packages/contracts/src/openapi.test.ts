import { readFileSync } from 'node:fs';
import path from 'node:path';

import { buildOpenApiDocument } from './openapi';

describe('OpenAPI document', () => {
  it('when generated from the schemas, then it equals the committed openapi.json (run `make openapi` after a change)', () => {
    const committed: unknown = JSON.parse(readFileSync(path.resolve(__dirname, '../openapi.json'), 'utf8'));
    expect(buildOpenApiDocument()).toEqual(committed);
  });

  it('when generated, then every route of the API is documented with its problem answers', () => {
    const document = buildOpenApiDocument();
    expect(Object.keys(document.paths ?? {}).sort()).toEqual([
      '/v1/admin/cards',
      '/v1/admin/users',
      '/v1/cards',
      '/v1/cards/{id}',
    ]);
    expect(document.components?.schemas?.['Card']).toBeDefined();
    expect(JSON.stringify(document.paths?.['/v1/cards']?.post?.responses?.['409'])).toContain(
      'CARD_LIMIT_REACHED',
    );
  });
});
