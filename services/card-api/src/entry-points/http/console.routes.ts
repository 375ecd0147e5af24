import path from 'node:path';

import express, { Router, type Response } from 'express';

/**
 * The card-api package's folder. This file runs from src/entry-points/http (tests) or dist/entry-points/http (the
 * build, the image): three levels down either way.
 */
const PACKAGE_ROOT = path.resolve(__dirname, '../../..');

/** Where the console's files are: its html and css as written, its one script as esbuild bundles it (npm run build). */
export const consoleAssets = {
  public: path.join(PACKAGE_ROOT, 'console/public'),
  scripts: path.join(PACKAGE_ROOT, 'dist/console'),
};

/**
 * File names carry no content hash, so browsers revalidate every time (ETag, Last-Modified: a 304 costs little)
 * instead of caching a stale console after a deploy.
 */
function revalidate(res: Response): void {
  res.set('Cache-Control', 'no-cache');
}

/**
 * The operator console at /admin: static files only, same-origin, no inline script or style, so helmet's strict CSP
 * holds. It calls /v1/admin/* with the operator's token like any other client; serving it needs no authentication.
 */
export function consoleRoutes(assets = consoleAssets): Router {
  const router = Router();
  const index = path.join(assets.public, 'index.html');

  router.get(['/admin', '/admin/', '/admin/index.html'], (req, res, next) => {
    // Relative links resolve against /admin/, so /admin gets there first (keeping any query string).
    if (req.path === '/admin') {
      res.redirect(301, `/admin/${req.originalUrl.slice('/admin'.length)}`);
      return;
    }
    revalidate(res);
    res.sendFile(index, (error) => {
      if (error) {
        next(error);
      }
    });
  });
  // Only the emitted modules: not the .d.ts files or build info tsc writes beside them.
  const scripts = express.static(assets.scripts, {
    index: false,
    redirect: false,
    fallthrough: true,
    setHeaders: revalidate,
  });
  router.use('/admin/js', (req, res, next) => {
    if (/^\/[\w/-]+\.js$/.test(req.path)) {
      scripts(req, res, next);
      return;
    }
    next();
  });
  router.use(
    '/admin',
    express.static(assets.public, {
      index: false,
      redirect: false,
      fallthrough: true,
      setHeaders: revalidate,
    }),
  );
  return router;
}
