import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import {
  ApiKey,
  ClaimedExecution,
  CreateJobBody,
  CreateTimerBody,
  DeadLetter,
  Execution,
  HourglassEvent,
  ID_DIGITS,
  Job,
  JobType,
  Outcome,
  PatchJobBody,
  Problem,
  Runner,
  Timer,
} from '@hourglass/contracts';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { OPERATION_IDS } from './operation-ids.js';

/**
 * The contract's entities, named: the document refers to `#/components/schemas/Job` instead of repeating the
 * schema in every operation (600 kB inline), and a generated client gets a `Job` type.
 */
const NAMED_SCHEMAS = {
  Job,
  CreateJobBody,
  PatchJobBody,
  Execution,
  ClaimedExecution,
  Outcome,
  Timer,
  CreateTimerBody,
  DeadLetter,
  Runner,
  JobType,
  ApiKey,
  Problem,
  Event: HourglassEvent,
};
for (const [id, schema] of Object.entries(NAMED_SCHEMAS)) {
  if (!z.globalRegistry.has(schema)) z.globalRegistry.add(schema, { id });
}

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
      // `pnpm start`'s orchestrator; a generated client is pointed elsewhere by its configuration.
      servers: [{ url: 'http://127.0.0.1:8080', description: 'pnpm start' }],
      tags: [
        { name: 'Jobs' },
        { name: 'Schedules' },
        { name: 'Timers' },
        { name: 'Queues' },
        { name: 'Flows' },
        { name: 'Runners' },
        { name: 'Executions' },
        { name: 'Dead letters' },
        { name: 'Events' },
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
    // The zod schemas become JSON Schema, and each operation gets its name (operation-ids.ts).
    transform: (input) => {
      const out = jsonSchemaTransform(input);
      const operationId = OPERATION_IDS[`${input.route.method} ${input.url}`];
      return operationId ? { ...out, schema: { ...out.schema, operationId } } : out;
    },
    transformObject: (input) => tidy(jsonSchemaTransformObject(input)),
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { config: { auth: 'public' }, schema: { hide: true } }, async () => app.swagger());
});

interface Operation {
  operationId?: string;
  responses?: Record<string, { content?: Record<string, unknown> }>;
  parameters?: { in: string; schema?: Record<string, unknown> }[];
}

/**
 * What zod's JSON Schema says less well than OpenAPI can, fixed for the readers of the document (people and client
 * generators): a 204 has no body (zod's `z.null()` answer became a body schema, `enum: [null]`, that generators
 * crash on); an id in the path is an integer (it is validated as digits, so it was documented as a string with a
 * pattern, and a generated client refused the integer ids it gets back).
 */
function tidy<T>(document: T): T {
  const paths = (document as { paths?: Record<string, Record<string, Operation>> }).paths;
  for (const operations of Object.values(paths ?? {}))
    for (const operation of Object.values(operations)) {
      if (operation.responses?.['204']) delete operation.responses['204'].content;
      // The event stream answers Server-Sent Events, each message's data being an Event.
      const stream = operation.operationId === 'streamEvents' ? operation.responses?.['200'] : undefined;
      if (stream?.content?.['application/json']) {
        stream.content = { 'text/event-stream': stream.content['application/json'] };
      }
      for (const parameter of operation.parameters ?? []) {
        if (parameter.in === 'path' && parameter.schema?.pattern === ID_DIGITS.source)
          parameter.schema = { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER };
      }
    }
  return withoutDateTimePatterns(document);
}

/** Keys that make a schema narrower than "any JSON value". */
const ANY_VALUE_KEYS = [
  'type',
  '$ref',
  'anyOf',
  'oneOf',
  'allOf',
  'enum',
  'not',
  'items',
  'properties',
  'nullable',
];

/**
 * zod writes its date-time regular expression next to `format: date-time`; the format says it all, and generators
 * choke on the expression (OpenAPI Generator's Python client refused it): removed. And "any value" properties are
 * marked nullable.
 */
function withoutDateTimePatterns<T>(node: T): T {
  if (Array.isArray(node)) {
    for (const item of node) withoutDateTimePatterns(item);
  } else if (node && typeof node === 'object') {
    const o = node as Record<string, unknown>;
    if (o.format === 'date-time' && typeof o.pattern === 'string') delete o.pattern;
    // A property of any JSON value (a payload, a result): null is one of them, which OpenAPI 3.0 must be told.
    if (o.properties && typeof o.properties === 'object') {
      for (const property of Object.values(o.properties as Record<string, Record<string, unknown>>)) {
        if (!ANY_VALUE_KEYS.some((k) => k in property)) property.nullable = true;
      }
    }
    for (const value of Object.values(o)) withoutDateTimePatterns(value);
  }
  return node;
}
