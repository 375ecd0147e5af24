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
      '/healthz',
      '/metrics',
      '/readyz',
      '/v1/admin/audit',
      '/v1/admin/cards',
      '/v1/admin/cards/summary',
      '/v1/admin/cards/{cardId}',
      '/v1/admin/dead-letters',
      '/v1/admin/dead-letters/replay',
      '/v1/admin/me',
      '/v1/admin/pipeline',
      '/v1/admin/users',
      '/v1/cards',
      '/v1/cards/{id}',
    ]);
    expect(document.components?.schemas?.['Card']).toBeDefined();
    expect(JSON.stringify(document.paths?.['/v1/cards']?.post?.responses?.['409'])).toContain(
      'CARD_LIMIT_REACHED',
    );
    expect(Object.keys(document.paths?.['/v1/admin/users'] ?? {}).sort()).toEqual(['get', 'post']);
    expect(
      JSON.stringify(document.paths?.['/v1/admin/dead-letters/replay']?.post?.responses?.['404']),
    ).toContain('DEAD_LETTER_NOT_FOUND');
  });

  it('when a client generator reads it, then every operation has a unique operationId and a declared tag', () => {
    const document = buildOpenApiDocument();
    const declaredTags = new Set((document.tags ?? []).map((tag) => tag.name));
    const operations = Object.values(document.paths ?? {}).flatMap((item) =>
      (['get', 'post', 'put', 'patch', 'delete'] as const).flatMap((method) => item[method] ?? []),
    );

    expect(operations.length).toBe(16);
    const ids = operations.map((operation) => operation.operationId);
    expect(ids.every((id) => typeof id === 'string' && /^[a-z][A-Za-z]+$/.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    for (const operation of operations) {
      expect(operation.tags?.length).toBe(1);
      expect(declaredTags.has(operation.tags?.[0] ?? '')).toBe(true);
    }
  });

  it("when a card is read, then the document says the bound on Prefer: wait is the server's setting", () => {
    const text = JSON.stringify(buildOpenApiDocument());

    expect(text).not.toContain('N ≤ 30');
    expect(text).toContain('LONG_POLL_MAX_SECONDS');
  });
});
