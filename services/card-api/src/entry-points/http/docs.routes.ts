import { buildOpenApiDocument, ErrorCode, ErrorCodeHelp, problemType } from '@cards/contracts';
import { Router } from 'express';
import swaggerUi from 'swagger-ui-express';

const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);

/** The page each problem `type` URI serves: what the code means and what to do, in a few lines of HTML. */
const problemPages = new Map(
  Object.values(ErrorCode).map((code) => [
    problemType(code),
    '<!doctype html><html lang="en"><head><meta charset="utf-8">' +
      `<title>${code}</title></head><body><h1>${code}</h1><p>${escapeHtml(ErrorCodeHelp[code])}</p>` +
      '<p>Every error of this API is RFC 9457 problem+json; its <code>code</code> is stable. ' +
      'The API: <a href="/docs">/docs</a>.</p></body></html>',
  ]),
);

/**
 * `GET /openapi.json`, Swagger UI at /docs and /swagger (served from local assets, no CDN), and a short page for
 * each problem type URI (`/problems/card-not-found`, …), so the `type` of an error answer resolves to something.
 */
export function docsRoutes(): Router {
  const document = buildOpenApiDocument();
  const router = Router();
  router.get('/openapi.json', (_req, res) => {
    res.json(document);
  });
  router.get('/problems/:type', (req, res, next) => {
    const page = problemPages.get(req.path);
    if (page === undefined) {
      next();
      return;
    }
    res.type('html').set('Cache-Control', 'public, max-age=3600').send(page);
  });
  for (const path of ['/docs', '/swagger']) {
    router.use(
      path,
      swaggerUi.serveFiles(document),
      swaggerUi.setup(document, { customSiteTitle: 'Card issuing API' }),
    );
  }
  return router;
}
