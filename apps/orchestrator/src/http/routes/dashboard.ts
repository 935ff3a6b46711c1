import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { AppError } from '../../errors.js';

export interface DashboardOptions {
  /** Where the built dashboard is (DASHBOARD_DIR); default: see `findDashboard`. */
  dashboardDir?: string | undefined;
}

/**
 * The built dashboard's folder: DASHBOARD_DIR, else `ui/` beside the production bundle (`dist/orchestrator/ui` in a
 * checkout, `dist/ui` in the image: `import.meta.url` is then the bundle's), else apps/dashboard/dist when the
 * orchestrator runs from its TypeScript source. Undefined when none holds an index.html (not built).
 */
export function findDashboard(configured?: string): string | undefined {
  const candidates = configured
    ? [path.resolve(configured)]
    : [
        fileURLToPath(new URL('./ui/', import.meta.url)),
        fileURLToPath(new URL('../../../../dashboard/dist/', import.meta.url)),
      ];
  return candidates.find((dir) => existsSync(path.join(dir, 'index.html')));
}

// The dashboard's own files only: scripts and styles from /ui/assets, API calls to this origin, no framing.
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
  "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/**
 * The web dashboard at /ui: static files, public (they hold no data and no secret: every call they make carries
 * the user's API key), left out of the OpenAPI document. Any path under /ui that is not a file gets index.html, so
 * a deep link (/ui/jobs/42) opens the page it names; /ui/assets/ is the exception, where a missing file is a 404.
 * Hashed asset names never change content, so they may be cached for good; index.html is always revalidated.
 */
export const dashboardRoutes = (opts: DashboardOptions) => async (app: FastifyInstance) => {
  const dir = findDashboard(opts.dashboardDir);
  if (dir) await app.register(fastifyStatic, { root: dir, serve: false });
  else app.log.warn('the dashboard is not built: /ui answers 404 until `pnpm build` (or set DASHBOARD_DIR)');
  const route = { config: { auth: 'public' as const }, schema: { hide: true } };

  app.get('/ui', route, async (_req, reply) => reply.redirect('/ui/', 302));
  app.get<{ Params: { '*': string } }>('/ui/*', route, async (req, reply) => {
    if (!dir) {
      throw new AppError(
        'NOT_FOUND',
        'the dashboard is not built: run `pnpm build` (or start with `pnpm start`, which builds it)',
      );
    }
    void reply.header('content-security-policy', CSP);
    void reply.header('x-content-type-options', 'nosniff');
    void reply.header('referrer-policy', 'no-referrer');
    const file = req.params['*'];
    const full = path.resolve(dir, file);
    const inside = full.startsWith(path.resolve(dir) + path.sep);
    if (file.startsWith('assets/')) {
      // A file that is not there (an old tab asking for a previous build's chunk) is a 404, not index.html.
      if (!inside || !existsSync(full)) {
        throw new AppError('NOT_FOUND', `no such dashboard file: ${file}`);
      }
      return reply.sendFile(file, { maxAge: '365d', immutable: true });
    }
    // Files at the top (favicon.svg): served as they are, revalidated.
    if (inside && file !== 'index.html' && !file.startsWith('.') && !file.includes('/') && existsSync(full)) {
      return reply.sendFile(file, { maxAge: 0 });
    }
    void reply.header('cache-control', 'no-cache');
    return reply.sendFile('index.html', { maxAge: 0, cacheControl: false });
  });
};
