import Fastify, { type FastifyInstance, type FastifyReply, type FastifyServerOptions } from 'fastify';
import fp from 'fastify-plugin';
import { validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { type AuthOptions, authPlugin } from './auth/plugin.js';
import { installErrorHandling, problem } from './http/errors.js';
import { registerOpenApi } from './http/openapi.js';
import { apiKeyRoutes } from './http/routes/api-keys.js';
import { type DashboardOptions, dashboardRoutes } from './http/routes/dashboard.js';
import { deadLetterRoutes } from './http/routes/dead-letters.js';
import { eventRoutes } from './http/routes/events.js';
import { executionRoutes } from './http/routes/executions.js';
import { flowRoutes } from './http/routes/flows.js';
import { healthRoutes } from './http/routes/health.js';
import { jobRoutes } from './http/routes/jobs.js';
import { metricsRoutes } from './http/routes/metrics.js';
import { queueRoutes } from './http/routes/queues.js';
import { runnerRoutes } from './http/routes/runners.js';
import { statsRoutes } from './http/routes/stats.js';
import { timerRoutes } from './http/routes/timers.js';
import type { Services } from './services/index.js';

/** The HTTP API as a Fastify instance: thin routes (validate, call a service, answer) over the services. */
export function buildApp(
  services: Services,
  auth: Omit<AuthOptions, 'db'>,
  opts: FastifyServerOptions = {},
  ui: DashboardOptions = {},
) {
  const app = Fastify({
    // Long-polls hold a request for up to a minute; everything else is quick.
    requestTimeout: 90_000,
    bodyLimit: 1_048_576,
    // The router's own refusals (a path parameter over maxParamLength, a malformed URL) as problem+json too: a
    // queue name in the path (issue 14) can be long enough to reach them.
    frameworkErrors: (err, _req, reply) => {
      const status = typeof err.statusCode === 'number' && err.statusCode < 500 ? err.statusCode : 400;
      void (reply as FastifyReply)
        .status(status)
        .type('application/problem+json')
        .send(problem(status, 'BAD_REQUEST', err.message));
    },
    ...opts,
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  acceptEmptyJsonBodies(app);
  // Answers are serialised as they are: their zod schemas document them and type-check the handlers, but
  // validating every answer at run time would cost CPU on the hot paths (claims, reports) for no gain.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  installErrorHandling(app);
  // Every route as registered, so a test can check each one is documented in the OpenAPI document.
  const routes: { method: string; url: string }[] = [];
  app.decorate('registeredRoutes', routes);
  app.addHook('onRoute', (r) => {
    for (const method of [r.method].flat()) routes.push({ method, url: r.url });
  });
  void app.register(authPlugin, { ...auth, db: services.db });
  void app.register(registerOpenApi);
  void app.register(apiKeyRoutes(services));
  void app.register(jobRoutes(services));
  void app.register(runnerRoutes(services));
  void app.register(executionRoutes(services));
  void app.register(deadLetterRoutes(services));
  void app.register(timerRoutes(services));
  void app.register(queueRoutes(services));
  void app.register(flowRoutes(services));
  void app.register(eventRoutes(services));
  void app.register(statsRoutes(services));
  void app.register(healthRoutes(services));
  void app.register(dashboardRoutes(ui));
  void app.register(fp(metricsRoutes(services)));
  return app;
}

export type App = ReturnType<typeof buildApp>;

/**
 * An empty body sent with `Content-Type: application/json` means "no body": many HTTP clients (and the README's
 * own `api` shell function) send the header on every request, and Fastify's parser refused such a body-less
 * `POST /jobs/7/pause` with FST_ERR_CTP_EMPTY_JSON_BODY. Anything else goes to Fastify's own JSON parser.
 */
function acceptEmptyJsonBodies(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    if ((body as string).trim() === '') return done(null, undefined);
    parseJson(req, body as string, done);
  });
}

declare module 'fastify' {
  interface FastifyInstance {
    registeredRoutes: { method: string; url: string }[];
  }
}
