import type { FastifyError, FastifyInstance } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { AppError, badRequest, type FieldError } from '../errors.js';
import { findUnstorable } from '../storable-json.js';

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export function problem(status: number, code: string, detail: string, errors?: FieldError[]) {
  return {
    type: 'about:blank',
    title: TITLES[status] ?? 'Error',
    status,
    detail,
    code,
    ...(errors ? { errors } : {}),
  };
}

/** Turns zod issues of a request part (body, querystring, params, headers) into named fields. */
function fieldErrors(
  err: Parameters<typeof hasZodFastifySchemaValidationErrors>[0] & object,
  context: string,
) {
  if (!hasZodFastifySchemaValidationErrors(err)) return [];
  return err.validation.map((v) => {
    const path = v.instancePath.replace(/^\//, '').replaceAll('/', '.');
    const keys = (v.params as { keys?: string[] }).keys;
    // An unknown key is named by its full path (`backoff.x`), like every other field.
    const field =
      v.keyword === 'unrecognized_keys' && keys
        ? keys.map((k) => (path ? `${path}.${k}` : k)).join(', ')
        : path || context;
    const message = v.keyword === 'unrecognized_keys' ? 'unknown field' : (v.message ?? 'invalid');
    return { field, message };
  });
}

/**
 * PostgreSQL cannot be reached or is going down or coming up: the request may succeed if retried shortly. Besides
 * refused and cut connections, SQLSTATE class 08 (connection exception) and 57P01–57P03: while the server shuts
 * down or starts up, connecting fails with 57P03 "the database system is shutting down / starting up", or the
 * socket is reset; both were a 500 INTERNAL (seen by `pnpm chaos` around its PostgreSQL restart).
 */
function databaseUnavailable(err: Error): boolean {
  const code = (err as { code?: unknown }).code;
  // A socket cut while PostgreSQL goes down: refused, reset or broken (pnpm chaos saw 'read ECONNRESET' as a 500).
  if (code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'EPIPE') return true;
  if (/connect|terminat/i.test(err.message)) return true;
  return typeof code === 'string' && (code.startsWith('08') || ['57P01', '57P02', '57P03'].includes(code));
}

/** Every error leaves as RFC 9457 problem+json; 5xx answers never carry internals (stack, SQL). */
export function installErrorHandling(app: FastifyInstance) {
  app.addHook('preValidation', async (request) => {
    const found =
      // A route that takes such strings decides about them itself (a report records an unstorable result).
      (request.routeOptions.config.unstorableStringsJudgedByRoute
        ? undefined
        : findUnstorable(request.body, '')) ??
      findUnstorable(request.query, '') ??
      findUnstorable(request.headers['idempotency-key'], 'idempotency-key');
    if (found !== undefined) throw badRequest(found.field || 'body', found.message);
  });

  app.setErrorHandler((err: FastifyError | AppError, request, reply) => {
    let body: ReturnType<typeof problem>;
    if (err instanceof AppError) {
      body = problem(err.status, err.code, err.message, err.errors);
    } else if ((err as { constraint?: string }).constraint === 'executions_one_open_per_once_job') {
      // The database refused a second open execution of a one-shot job (two changes raced; one lost).
      body = problem(
        409,
        'JOB_STATE',
        'the job already has a pending or running execution; nothing was changed',
      );
    } else if ((err as { constraint?: string }).constraint === 'jobs_unique_key') {
      // A job coming back to a status its unique key holds in (a requeue, a resume) while another holds the key.
      body = problem(
        409,
        'UNIQUE_CONFLICT',
        'another job holds this job’s unique key in that status; nothing was changed',
      );
    } else if (hasZodFastifySchemaValidationErrors(err)) {
      const context = (err as FastifyError).validationContext ?? 'body';
      const errors = fieldErrors(err, context);
      const detail = errors.map((e) => `${e.field}: ${e.message}`).join('; ');
      body = problem(400, 'VALIDATION_FAILED', `invalid ${context}: ${detail}`, errors);
    } else if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
      // Fastify's own client errors: malformed JSON, wrong content type, body too large, …
      body = problem(err.statusCode, err.code ?? 'BAD_REQUEST', err.message);
    } else if (databaseUnavailable(err)) {
      request.log.error({ err }, 'database unavailable');
      body = problem(503, 'DATABASE_UNAVAILABLE', 'the database is unreachable; retry shortly');
    } else {
      request.log.error({ err }, 'unhandled error');
      body = problem(500, 'INTERNAL', 'internal error; the request id is in the logs');
    }
    void reply.status(body.status).type('application/problem+json').send(body);
  });

  app.setNotFoundHandler((request, reply) => {
    void reply
      .status(404)
      .type('application/problem+json')
      .send(problem(404, 'ROUTE_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`));
  });
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * The route takes bodies with strings PostgreSQL cannot store (NUL, unpaired surrogates) or JSON deeper than
     * 100 levels, and decides about them itself, instead of the 400 every other route answers.
     */
    unstorableStringsJudgedByRoute?: boolean;
  }
}
