import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { sql } from 'kysely';
import { z } from 'zod';
import type { Services } from '../../services/index.js';
import { doc } from '../docs.js';

const Readiness = z.object({ status: z.string(), database: z.enum(['up', 'down']) });

export const healthRoutes =
  (s: Services): FastifyPluginAsyncZod =>
  async (app) => {
    /** Liveness: the process answers. Never touches the database, so a DB outage does not get us restarted. */
    app.get(
      '/healthz',
      {
        config: { auth: 'public' },
        schema: doc('Ops', 'Liveness', { 200: z.object({ status: z.literal('ok') }) }),
      },
      async () => ({ status: 'ok' as const }),
    );

    /** Readiness: the database answers within a second. */
    app.get(
      '/readyz',
      {
        config: { auth: 'public' },
        schema: doc('Ops', 'Readiness: the database answers', { 200: Readiness, 503: Readiness }),
      },
      async (_req, reply) => {
        try {
          await Promise.race([
            sql`SELECT 1`.execute(s.db),
            new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 1_000).unref()),
          ]);
          return { status: 'ready', database: 'up' as const };
        } catch {
          return reply.status(503).send({ status: 'not ready', database: 'down' as const });
        }
      },
    );
  };
