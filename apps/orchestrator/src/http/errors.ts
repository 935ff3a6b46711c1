import type { FastifyError, FastifyInstance } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { AppError, badRequest, type FieldError } from '../errors.js';

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

function problem(status: number, code: string, detail: string, errors?: FieldError[]) {
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
 * PostgreSQL stores neither NUL characters (text, jsonb) nor unpaired UTF-16 surrogates (jsonb); valid JSON can
 * carry both, and they used to reach SQL and come back as a 500.
 */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const unstorable = (s: string) => s.includes('\u0000') || LONE_SURROGATE.test(s);

/**
 * Deeper JSON is refused. Nothing in the API needs it, and deeper values would overflow the stack here, in
 * JSON.stringify and in PostgreSQL's jsonb parser: a 100,000-deep array, well under the body limit, was a 500
 * (found by test/bad-input.fuzz.test.ts).
 */
const MAX_JSON_DEPTH = 100;

/**
 * The first string (value or key) PostgreSQL cannot store, or value nested deeper than MAX_JSON_DEPTH, as the
 * field and what is wrong with it; undefined if none. Depth-first, with a stack of its own rather than recursion.
 */
function findUnstorable(value: unknown, path: string): FieldError | undefined {
  const pending: { value: unknown; path: string; key?: string; depth: number }[] = [
    { value, path, depth: 0 },
  ];
  for (let next = pending.pop(); next; next = pending.pop()) {
    if (next.key !== undefined && unstorable(next.key)) return { field: next.path, message: UNSTORABLE };
    if (typeof next.value === 'string') {
      if (unstorable(next.value)) return { field: next.path, message: UNSTORABLE };
      continue;
    }
    if (next.value === null || typeof next.value !== 'object') continue;
    if (next.depth >= MAX_JSON_DEPTH) {
      return { field: next.path, message: `is nested more than ${MAX_JSON_DEPTH} levels deep` };
    }
    const entries = Object.entries(next.value);
    for (let i = entries.length - 1; i >= 0; i--) {
      const [key, item] = entries[i]!;
      pending.push({
        value: item,
        path: next.path ? `${next.path}.${key}` : key,
        key,
        depth: next.depth + 1,
      });
    }
  }
  return undefined;
}

const UNSTORABLE = 'contains a character that cannot be stored (NUL or an unpaired surrogate)';

/** Every error leaves as RFC 9457 problem+json; 5xx answers never carry internals (stack, SQL). */
export function installErrorHandling(app: FastifyInstance) {
  app.addHook('preValidation', async (request) => {
    const found =
      findUnstorable(request.body, '') ??
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
    } else if (hasZodFastifySchemaValidationErrors(err)) {
      const context = (err as FastifyError).validationContext ?? 'body';
      const errors = fieldErrors(err, context);
      const detail = errors.map((e) => `${e.field}: ${e.message}`).join('; ');
      body = problem(400, 'VALIDATION_FAILED', `invalid ${context}: ${detail}`, errors);
    } else if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
      // Fastify's own client errors: malformed JSON, wrong content type, body too large, …
      body = problem(err.statusCode, err.code ?? 'BAD_REQUEST', err.message);
    } else if ((err as { code?: string }).code === 'ECONNREFUSED' || /connect|terminat/i.test(err.message)) {
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
