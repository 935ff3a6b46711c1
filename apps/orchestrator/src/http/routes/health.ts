import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { sql } from 'kysely';
import type { Services } from '../../services/index.js';

export const healthRoutes =
  (s: Services): FastifyPluginAsyncZod =>
  async (app) => {
    /** Liveness: the process answers. Never touches the database, so a DB outage does not get us restarted. */
    app.get('/healthz', { config: { auth: 'public' } }, async () => ({ status: 'ok' }));

    /** Readiness: the database answers within a second. */
    app.get('/readyz', { config: { auth: 'public' } }, async (_req, reply) => {
      try {
        await Promise.race([
          sql`SELECT 1`.execute(s.db),
          new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 1_000).unref()),
        ]);
        return { status: 'ready', database: 'up' };
      } catch {
        return reply.status(503).send({ status: 'not ready', database: 'down' });
      }
    });
  };
