import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Services } from '../../services/index.js';

/** Prometheus metrics (text exposition format). Public like /healthz, for scrapers inside the deployment. */
export const metricsRoutes =
  (s: Services): FastifyPluginAsyncZod =>
  async (app) => {
    app.addHook('onResponse', async (req, reply) => {
      s.metrics.httpRequests.observe(
        {
          method: req.method,
          route: req.routeOptions.url ?? 'unmatched',
          status_code: String(reply.statusCode),
        },
        reply.elapsedTime / 1000,
      );
    });
    app.get(
      '/metrics',
      { config: { auth: 'public' }, schema: { tags: ['Ops'], summary: 'Prometheus metrics' } },
      async (_req, reply) => {
        const body = await s.metrics.registry.metrics();
        return reply.type(s.metrics.registry.contentType).send(body);
      },
    );
  };
