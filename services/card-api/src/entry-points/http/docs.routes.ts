import { buildOpenApiDocument } from '@cards/contracts';
import { Router } from 'express';
import swaggerUi from 'swagger-ui-express';

/** `GET /openapi.json` and Swagger UI at /docs and /swagger, served from local assets (no CDN). */
export function docsRoutes(): Router {
  const document = buildOpenApiDocument();
  const router = Router();
  router.get('/openapi.json', (_req, res) => {
    res.json(document);
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
