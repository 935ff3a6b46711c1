import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Services } from '../../services/index.js';

/**
 * Prometheus metrics (text exposition format): public like /healthz for scrapers inside the deployment, or behind
 * METRICS_API_KEY. Cheap to scrape: database gauges are refreshed at most every METRICS_DB_REFRESH_MS.
 */
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
      { config: { auth: 'metrics' }, schema: { tags: ['Ops'], summary: 'Prometheus metrics' } },
      async (_req, reply) => {
        const body = await s.metrics.registry.metrics();
        return reply.type(s.metrics.registry.contentType).send(body);
      },
    );
  };
