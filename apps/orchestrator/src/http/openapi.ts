import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';

/**
 * OpenAPI 3 generated from the zod schemas the routes validate with (so the document cannot drift from the
 * code), served at /openapi.json, with Swagger UI at /docs. A plugin without encapsulation, so it sees every
 * route registered after it.
 */
export const registerOpenApi = fp(async (app: FastifyInstance): Promise<void> => {
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Hourglass',
        version: '0.1.0',
        description:
          'Jobs, schedules and webhook timers on PostgreSQL. Errors are RFC 9457 application/problem+json ' +
          'with a stable `code` and, for bad input, the offending `errors[].field`.',
      },
      tags: [
        { name: 'Jobs' },
        { name: 'Schedules' },
        { name: 'Timers' },
        { name: 'Runners' },
        { name: 'Executions' },
        { name: 'Dead letters' },
        { name: 'Keys' },
        { name: 'Ops' },
      ],
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'API key: Authorization: Bearer hg_…' },
          apiKeyHeader: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
        },
      },
      security: [{ bearer: [] }, { apiKeyHeader: [] }],
    },
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { config: { auth: 'public' }, schema: { hide: true } }, async () => app.swagger());
});
