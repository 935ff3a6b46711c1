import {
  startTestOrchestrator,
  stopTestOrchestrator,
  type TestOrchestrator,
} from '@hourglass/testkit/orchestrator';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, expect, test } from 'vitest';
import {
  claimOne,
  completeBatch,
  completeOk,
  createJob,
  failed,
  registerRunner,
  rowCounts,
  succeeded,
  tableDigests,
} from './helpers.js';

/**
 * Bad input on every endpoint: a 4xx problem+json that names the field (where it is a validation error), never
 * a 5xx, and nothing written: every table's content is the same before and after all of them.
 */

type Request = InjectOptions;
interface Case {
  name: string;
  req: Request;
  status: number;
  /** The first field named in `errors`, for validation errors. */
  field?: string;
}

let o: TestOrchestrator;
let runnerId: string;
let otherRunnerId: string;
let runningId: number;
let jobId: number;
let deadLetterId: number;
const unknownRunner = '00000000-0000-4000-8000-000000000000';
const future = new Date(Date.now() + 3_600_000).toISOString();
const longAgo = '2001-01-01T00:00:00Z';

beforeAll(async () => {
  o = await startTestOrchestrator();
  // Something of everything, so that a bad request has rows it could damage.
  runnerId = await registerRunner(o, { types: ['echo', 'noop'] });
  otherRunnerId = await registerRunner(o, { types: ['sleep'] });
  const running = await createJob(o, { payload: 'running' });
  runningId = (await claimOne(o, runnerId, 0)).id;
  expect(running.id).toBeGreaterThan(0);
  jobId = (await createJob(o, { payload: 'later', runAt: future })).id;
  const doomed = await createJob(o, { type: 'noop', maxAttempts: 1 });
  const e = await claimOne(o, runnerId, 0);
  expect(e.jobId).toBe(doomed.id);
  await completeOk(o, runnerId, e.id, failed('dead'));
  const dl = await o.app.inject({ method: 'GET', url: '/dead-letters' });
  deadLetterId = dl.json().items[0].id;
  const done = await createJob(o, { type: 'noop' });
  const d = await claimOne(o, runnerId, 0);
  expect(d.jobId).toBe(done.id);
  await completeOk(o, runnerId, d.id, succeeded());
});
afterAll(() => stopTestOrchestrator(o));

const json = { 'content-type': 'application/json' };
const post = (url: string, payload: unknown, headers: Record<string, string> = {}): Request => ({
  method: 'POST',
  url,
  payload: payload as string,
  headers,
});
const get = (url: string): Request => ({ method: 'GET', url });
/** `inner` wrapped `levels` deep in `{"properties": {"a": …}}`. */
const nest = (inner: object, levels: number): object =>
  levels === 0 ? inner : { type: 'object', properties: { a: nest(inner, levels - 1) } };

function jobCases(): Case[] {
  const job = (extra: Record<string, unknown>) => ({ type: 'echo', ...extra });
  const c = (name: string, payload: unknown, field?: string, status = 400): Case => ({
    name: `POST /jobs ${name}`,
    req: post('/jobs', payload),
    status,
    field,
  });
  return [
    c('empty object', {}, 'type'),
    c('type with capitals', { type: 'SendEmail' }, 'type'),
    c('type with a space', { type: 'send email' }, 'type'),
    c('type starting with a digit', { type: '1job' }, 'type'),
    c('type too long', { type: `a${'b'.repeat(100)}` }, 'type'),
    c('builtin payload invalid', { type: 'sleep', payload: { durationMs: 'long' } }, 'payload.durationMs'),
    c('type not a string', { type: 123 }, 'type'),
    c('empty type', { type: '' }, 'type'),
    c('priority a string', job({ priority: 'high' }), 'priority'),
    c('priority a fraction', job({ priority: 1.5 }), 'priority'),
    c('priority out of range', job({ priority: 5000 }), 'priority'),
    c('maxAttempts 0', job({ maxAttempts: 0 }), 'maxAttempts'),
    c('maxAttempts 101', job({ maxAttempts: 101 }), 'maxAttempts'),
    c('backoff factor < 1', job({ backoff: { factor: 0.5 } }), 'backoff.factor'),
    c('backoff negative delay', job({ backoff: { initialDelayMs: -1 } }), 'backoff.initialDelayMs'),
    c('backoff jitter a string', job({ backoff: { jitter: 'yes' } }), 'backoff.jitter'),
    c('backoff unknown field', job({ backoff: { x: 1 } }), 'backoff.x'),
    c('backoff not an object', job({ backoff: 5 }), 'backoff'),
    c('timeoutMs 0', job({ timeoutMs: 0 }), 'timeoutMs'),
    c('runAt not a date', job({ runAt: 'tomorrow' }), 'runAt'),
    c('runAt not a real day', job({ runAt: '2031-02-30T00:00:00Z' }), 'runAt'),
    c('runAt in the past', job({ runAt: longAgo }), 'runAt'),
    c('delayMs negative', job({ delayMs: -5 }), 'delayMs'),
    c('delayMs a string', job({ delayMs: '5' }), 'delayMs'),
    c('runAt and delayMs', job({ runAt: future, delayMs: 5 }), 'delayMs'),
    c('empty idempotencyKey', job({ idempotencyKey: '' }), 'idempotencyKey'),
    c('idempotencyKey too long', job({ idempotencyKey: 'k'.repeat(201) }), 'idempotencyKey'),
    c('unknown field', job({ bogus: 1 }), 'bogus'),
    c(
      'sleep payload negative duration',
      { type: 'sleep', payload: { durationMs: -1 } },
      'payload.durationMs',
    ),
    c(
      'sleep payload duration a string',
      { type: 'sleep', payload: { durationMs: 'long' } },
      'payload.durationMs',
    ),
    c('sleep payload failureRate > 1', { type: 'sleep', payload: { failureRate: 2 } }, 'payload.failureRate'),
    c('sleep payload not an object', { type: 'sleep', payload: 'x' }, 'payload'),
    c('NUL in the payload', job({ payload: { a: 'x\u0000y' } }), 'payload.a'),
    c('unpaired surrogate in the payload', job({ payload: ['ok', '\ud800'] }), 'payload.1'),
    c('NUL in idempotencyKey', job({ idempotencyKey: 'a\u0000' }), 'idempotencyKey'),
    {
      name: 'POST /jobs empty Idempotency-Key header',
      req: post('/jobs', { type: 'echo' }, { 'idempotency-key': '' }),
      status: 400,
      field: 'idempotency-key',
    },
    {
      name: 'POST /jobs Idempotency-Key header and field differ',
      req: post('/jobs', { type: 'echo', idempotencyKey: 'a' }, { 'idempotency-key': 'b' }),
      status: 400,
      field: 'idempotencyKey',
    },
    { name: 'POST /jobs malformed JSON', req: post('/jobs', '{"type":', json), status: 400 },
    { name: 'POST /jobs empty JSON body', req: post('/jobs', '', json), status: 400 },
    { name: 'POST /jobs no body', req: { method: 'POST', url: '/jobs' }, status: 400, field: 'body' },
    { name: 'POST /jobs JSON array', req: post('/jobs', '[]', json), status: 400, field: 'body' },
    { name: 'POST /jobs JSON null', req: post('/jobs', 'null', json), status: 400, field: 'body' },
    {
      name: 'POST /jobs text/plain body',
      req: post('/jobs', 'type=echo', { 'content-type': 'text/plain' }),
      status: 400,
      field: 'body',
    },
    {
      name: 'POST /jobs unsupported content type',
      req: post('/jobs', '<job type="echo"/>', { 'content-type': 'application/xml' }),
      status: 415,
    },
    {
      name: 'POST /jobs prototype pollution',
      req: post('/jobs', '{"type":"echo","__proto__":{"x":1}}', json),
      status: 400,
    },
    {
      name: 'POST /jobs body over 1 MiB',
      req: post('/jobs', { type: 'echo', payload: 'x'.repeat(1_100_000) }),
      status: 413,
    },
  ];
}

function batchCases(): Case[] {
  const c = (name: string, payload: unknown, field?: string): Case => ({
    name: `POST /jobs/batch ${name}`,
    req: post('/jobs/batch', payload),
    status: 400,
    field,
  });
  return [
    c('no jobs', {}, 'jobs'),
    c('empty jobs', { jobs: [] }, 'jobs'),
    c('jobs not an array', { jobs: 'x' }, 'jobs'),
    c('over 1000 jobs', { jobs: Array.from({ length: 1001 }, () => ({ type: 'noop' })) }, 'jobs'),
    c('unknown field', { jobs: [{ type: 'echo' }], extra: 1 }, 'extra'),
    // The good items before a bad one are not written either.
    c('bad type name in item 1', { jobs: [{ type: 'echo' }, { type: 'No Pe' }] }, 'jobs.1.type'),
    c('bad priority in item 0', { jobs: [{ type: 'echo', priority: 'x' }] }, 'jobs.0.priority'),
    c(
      'bad sleep payload in item 2',
      { jobs: [{ type: 'noop' }, { type: 'noop' }, { type: 'sleep', payload: { durationMs: -1 } }] },
      'jobs.2.payload.durationMs',
    ),
    c('past runAt in item 1', { jobs: [{ type: 'echo' }, { type: 'echo', runAt: longAgo }] }, 'jobs.1.runAt'),
    c('NUL in item 1', { jobs: [{ type: 'echo' }, { type: 'echo', payload: '\u0000' }] }, 'jobs.1.payload'),
  ];
}

function queryCases(): Case[] {
  const c = (url: string, field: string): Case => ({ name: `GET ${url}`, req: get(url), status: 400, field });
  return [
    c('/jobs?status=BOGUS', 'status'),
    c('/jobs?limit=0', 'limit'),
    c('/jobs?limit=501', 'limit'),
    c('/jobs?limit=abc', 'limit'),
    c('/jobs?cursor=-1', 'cursor'),
    c('/jobs?cursor=abc', 'cursor'),
    c('/jobs?cursor=99999999999999999999', 'cursor'),
    c('/jobs?type=', 'type'),
    c('/jobs?type=%00', 'type'),
    c('/jobs?foo=1', 'foo'),
    c(`/jobs/${1}?wait=61`, 'wait'),
    c(`/jobs/${1}?wait=-1`, 'wait'),
    c(`/jobs/${1}?wait=soon`, 'wait'),
    c(`/jobs/${1}?foo=1`, 'foo'),
    c(`/jobs/${1}/executions?limit=0`, 'limit'),
    c(`/jobs/${1}/executions?cursor=x`, 'cursor'),
    c('/executions/active?limit=0', 'limit'),
    c('/executions/active?foo=1', 'foo'),
    c('/runners?includeOffline=maybe', 'includeOffline'),
    c('/dead-letters?includeRequeued=yes', 'includeRequeued'),
    c('/dead-letters?limit=0', 'limit'),
    c('/dead-letters?cursor=x', 'cursor'),
    c('/dead-letters?foo=1', 'foo'),
  ];
}

const BAD_IDS = [
  'abc',
  '0',
  '-1',
  '1.5',
  '99999999999999999999',
  '9999999999999999',
  '1e3',
  '01',
  '0x10',
  '%20',
];

function idCases(): Case[] {
  const goodOutcome = { runnerId: unknownRunner, outcome: { status: 'SUCCEEDED' } };
  const routes = (id: string): [string, Request][] => [
    ['GET /jobs/:id', get(`/jobs/${id}`)],
    ['GET /jobs/:id/executions', get(`/jobs/${id}/executions`)],
    ['POST /jobs/:id/trigger', post(`/jobs/${id}/trigger`, undefined)],
    ['POST /jobs/:id/cancel', post(`/jobs/${id}/cancel`, undefined)],
    ['GET /executions/:id', get(`/executions/${id}`)],
    ['POST /executions/:id/complete', post(`/executions/${id}/complete`, goodOutcome)],
    ['POST /dead-letters/:id/requeue', post(`/dead-letters/${id}/requeue`, undefined)],
  ];
  const cases: Case[] = [];
  for (const id of BAD_IDS) {
    for (const [name, req] of routes(id))
      cases.push({ name: `${name} id=${id}`, req, status: 400, field: 'id' });
  }
  // Well-formed ids of nothing: 404, not 400 and not 500. 9007199254740991 is the largest id accepted.
  for (const id of ['999999', '9007199254740991']) {
    for (const [name, req] of routes(id)) cases.push({ name: `${name} unknown id ${id}`, req, status: 404 });
  }
  return cases;
}

function runnerCases(): Case[] {
  const reg = { name: 'r', host: 'h', types: ['echo'], capacity: 1 };
  const c = (name: string, req: Request, field?: string, status = 400): Case => ({
    name,
    req,
    status,
    field,
  });
  const bad = 'not-a-uuid';
  return [
    c('register empty', post('/runners/register', {}), 'name'),
    c('register empty name', post('/runners/register', { ...reg, name: '' }), 'name'),
    c('register no types', post('/runners/register', { ...reg, types: [] }), 'types'),
    c('register empty type', post('/runners/register', { ...reg, types: ['echo', ''] }), 'types.1'),
    c('register capacity 0', post('/runners/register', { ...reg, capacity: 0 }), 'capacity'),
    c('register capacity fraction', post('/runners/register', { ...reg, capacity: 1.5 }), 'capacity'),
    c('register bad id', post('/runners/register', { ...reg, id: 'nope' }), 'id'),
    c('register unknown field', post('/runners/register', { ...reg, extra: true }), 'extra'),
    c('register bad type name', post('/runners/register', { ...reg, types: ['Resize'] }), 'types.0'),
    c('register type twice', post('/runners/register', { ...reg, types: ['echo', 'echo'] }), 'types.1'),
    c(
      'register malformed schema',
      post('/runners/register', { ...reg, types: [{ type: 'resize', payloadSchema: { type: 5 } }] }),
      'types.0.payloadSchema',
    ),
    c(
      'register schema with an unresolvable $ref',
      post('/runners/register', {
        ...reg,
        types: ['echo', { type: 'resize', payloadSchema: { $ref: 'https://example.com/schema.json' } }],
      }),
      'types.1.payloadSchema',
    ),
    c(
      'register schema too deep',
      post('/runners/register', {
        ...reg,
        types: [{ type: 'resize', payloadSchema: nest({ type: 'object' }, 40) }],
      }),
      'types.0.payloadSchema',
    ),
    c(
      'register schema too large',
      post('/runners/register', {
        ...reg,
        types: [{ type: 'resize', payloadSchema: { type: 'object', description: 'x'.repeat(70_000) } }],
      }),
      'types.0.payloadSchema',
    ),
    c(
      'register an $async schema',
      post('/runners/register', {
        ...reg,
        types: [{ type: 'resize', payloadSchema: { $async: true, type: 'object' } }],
      }),
      'types.0.payloadSchema',
    ),
    c(
      'register schema not an object',
      post('/runners/register', { ...reg, types: [{ type: 'resize', payloadSchema: 'any' }] }),
      'types.0',
    ),
    c(
      'register retry maxAttempts 0',
      post('/runners/register', { ...reg, types: [{ type: 'resize', retry: { maxAttempts: 0 } }] }),
      'types.0.retry.maxAttempts',
    ),
    c('register NUL in name', post('/runners/register', { ...reg, name: 'a\u0000' }), 'name'),
    c('register malformed JSON', post('/runners/register', '{', json)),
    c('heartbeat bad uuid', post(`/runners/${bad}/heartbeat`, { running: [] }), 'id'),
    c('heartbeat running not ids', post(`/runners/${runnerId}/heartbeat`, { running: ['x'] }), 'running.0'),
    c('heartbeat running 0', post(`/runners/${runnerId}/heartbeat`, { running: [0] }), 'running.0'),
    c('heartbeat running not an array', post(`/runners/${runnerId}/heartbeat`, { running: 5 }), 'running'),
    c('heartbeat unknown field', post(`/runners/${runnerId}/heartbeat`, { running: [], x: 1 }), 'x'),
    c(
      'heartbeat progress over 100',
      post(`/runners/${runnerId}/heartbeat`, { running: [], progress: { '5': 101 } }),
      'progress.5',
    ),
    c(
      'heartbeat progress key not an id',
      post(`/runners/${runnerId}/heartbeat`, { running: [], progress: { x: 5 } }),
      'progress.x',
    ),
    c(
      'heartbeat progress too large',
      post(`/runners/${runnerId}/heartbeat`, { running: [], progress: { '5': { note: 'x'.repeat(2_000) } } }),
      'progress.5',
    ),
    c(
      'heartbeat unknown runner',
      post(`/runners/${unknownRunner}/heartbeat`, { running: [] }),
      undefined,
      404,
    ),
    c('next-job bad uuid', post(`/runners/${bad}/next-job`, undefined), 'id'),
    c('next-job max=0', post(`/runners/${runnerId}/next-job?max=0`, undefined), 'max'),
    c('next-job max=abc', post(`/runners/${runnerId}/next-job?max=abc`, undefined), 'max'),
    c('next-job max=1001', post(`/runners/${runnerId}/next-job?max=1001`, undefined), 'max'),
    c('next-job max=1.5', post(`/runners/${runnerId}/next-job?max=1.5`, undefined), 'max'),
    c('next-job wait=-1', post(`/runners/${runnerId}/next-job?wait=-1`, undefined), 'wait'),
    c('next-job wait=61', post(`/runners/${runnerId}/next-job?wait=61`, undefined), 'wait'),
    c('next-job wait=abc', post(`/runners/${runnerId}/next-job?wait=abc`, undefined), 'wait'),
    c('next-job unknown parameter', post(`/runners/${runnerId}/next-job?foo=1`, undefined), 'foo'),
    c('next-job unknown runner', post(`/runners/${unknownRunner}/next-job`, undefined), undefined, 404),
    c('drain bad uuid', post(`/runners/${bad}/drain`, undefined), 'id'),
    c('drain unknown runner', post(`/runners/${unknownRunner}/drain`, undefined), undefined, 404),
    c('deregister bad uuid', { method: 'DELETE', url: `/runners/${bad}` }, 'id'),
    c('deregister unknown runner', { method: 'DELETE', url: `/runners/${unknownRunner}` }, undefined, 404),
  ];
}

function completionCases(): Case[] {
  const url = () => `/executions/${runningId}/complete`;
  const c = (name: string, payload: unknown, field?: string, status = 400): Case => ({
    name: `complete ${name}`,
    req: post(url(), payload),
    status,
    field,
  });
  const ok = { status: 'SUCCEEDED', result: 1 };
  const b = (name: string, payload: unknown, field: string): Case => ({
    name: `batch complete ${name}`,
    req: post('/executions/complete', payload),
    status: 400,
    field,
  });
  const result = { executionId: runningId, outcome: ok };
  return [
    c('missing runnerId', { outcome: ok }, 'runnerId'),
    c('runnerId not a uuid', { runnerId: 'x', outcome: ok }, 'runnerId'),
    c('missing outcome', { runnerId }, 'outcome'),
    c('unknown status', { runnerId, outcome: { status: 'DONE' } }, 'outcome.status'),
    c('FAILED without error', { runnerId, outcome: { status: 'FAILED' } }, 'outcome.error'),
    c('FAILED with empty error', { runnerId, outcome: { status: 'FAILED', error: '' } }, 'outcome.error'),
    c('unknown outcome field', { runnerId, outcome: { ...ok, extra: 1 } }, 'outcome.extra'),
    c('bad startedAt', { runnerId, outcome: { ...ok, startedAt: 'then' } }, 'outcome.startedAt'),
    c('unknown field', { runnerId, outcome: ok, extra: 1 }, 'extra'),
    c(
      'retryable not a boolean',
      { runnerId, outcome: { status: 'FAILED', error: 'x', retryable: 'no' } },
      'outcome.retryable',
    ),
    c('bad error code', { runnerId, outcome: { status: 'FAILED', error: 'x', code: 'a b' } }, 'outcome.code'),
    c('retryable on success', { runnerId, outcome: { ...ok, retryable: false } }, 'outcome.retryable'),
    // A NUL in the result or the error is not bad input: the report is recorded (unstorable-results.test.ts).
    c('result and resultBytes', { runnerId, outcome: { ...ok, resultBytes: 10 } }, 'outcome.resultBytes'),
    c(
      'negative resultBytes',
      { runnerId, outcome: { status: 'SUCCEEDED', resultBytes: -1 } },
      'outcome.resultBytes',
    ),
    c(
      'resultBytes on a failure',
      { runnerId, outcome: { ...failed(), resultBytes: 1 } },
      'outcome.resultBytes',
    ),
    c('by a runner that does not hold it', { runnerId: otherRunnerId, outcome: ok }, undefined, 409),
    c('by an unknown runner', { runnerId: unknownRunner, outcome: ok }, undefined, 409),
    b('missing results', { runnerId }, 'results'),
    b('empty results', { runnerId, results: [] }, 'results'),
    b('missing runnerId', { results: [result] }, 'runnerId'),
    b('bad executionId', { runnerId, results: [{ ...result, executionId: 'x' }] }, 'results.0.executionId'),
    b('executionId 0', { runnerId, results: [{ ...result, executionId: 0 }] }, 'results.0.executionId'),
    b(
      'unknown status',
      { runnerId, results: [result, { executionId: runningId, outcome: { status: 'X' } }] },
      'results.1.outcome.status',
    ),
    b('over 1000 results', { runnerId, results: Array.from({ length: 1001 }, () => result) }, 'results'),
  ];
}

function otherCases(): Case[] {
  return [
    { name: 'unknown route', req: get('/nope'), status: 404 },
    { name: 'unknown method', req: { method: 'PUT', url: '/jobs' }, status: 404 },
    { name: 'POST /healthz', req: post('/healthz', {}), status: 404 },
    { name: 'trigger a RUNNING job', req: post(`/jobs/1/trigger`, undefined), status: 409 },
    {
      name: 'requeue an unknown dead letter',
      req: post('/dead-letters/424242/requeue', undefined),
      status: 404,
    },
  ];
}

test('every bad request gets a 4xx problem+json naming the field, and nothing is written', async () => {
  // Fixtures this test relies on: job 1 is RUNNING under runnerId, a dead letter exists.
  expect((await o.app.inject(get('/jobs/1'))).json().status).toBe('RUNNING');
  expect(deadLetterId).toBeGreaterThan(0);
  expect(jobId).toBeGreaterThan(0);
  const counts = await rowCounts(o);
  const digests = await tableDigests(o);

  const cases = [
    ...jobCases(),
    ...batchCases(),
    ...queryCases(),
    ...idCases(),
    ...runnerCases(),
    ...completionCases(),
    ...otherCases(),
  ];
  expect(cases.length).toBeGreaterThan(150);
  const mismatches: string[] = [];
  for (const c of cases) {
    const res = await o.app.inject(c.req);
    const why: string[] = [];
    if (res.statusCode !== c.status) why.push(`status ${res.statusCode}, expected ${c.status}`);
    if (!String(res.headers['content-type']).startsWith('application/problem+json')) {
      why.push(`content-type ${res.headers['content-type']}`);
    } else {
      const body = res.json();
      if (
        body.status !== res.statusCode ||
        typeof body.code !== 'string' ||
        typeof body.detail !== 'string'
      ) {
        why.push('not a problem document');
      }
      if (c.field !== undefined && body.errors?.[0]?.field !== c.field) {
        why.push(`field ${JSON.stringify(body.errors?.[0]?.field)}, expected ${c.field}`);
      }
    }
    if (why.length > 0) mismatches.push(`${c.name}: ${why.join('; ')} — ${res.body.slice(0, 200)}`);
  }
  expect(mismatches).toEqual([]);

  expect(await rowCounts(o)).toEqual(counts);
  expect(await tableDigests(o)).toEqual(digests);
});

test('a type name outside the pattern is a 400 that states the rule', async () => {
  const res = await o.app.inject(post('/jobs', { type: 'Send Email' }));
  expect(res.statusCode).toBe(400);
  const body = res.json();
  expect(body.code).toBe('VALIDATION_FAILED');
  expect(body.errors[0].field).toBe('type');
  expect(body.errors[0].message).toContain('^[a-z][a-z0-9_.-]{0,99}$');
});

test('a batch completion of executions nobody holds answers conflict and writes nothing', async () => {
  const digests = await tableDigests(o);
  const results = await completeBatch(o, otherRunnerId, [
    { executionId: runningId, outcome: succeeded() },
    { executionId: 424_242, outcome: failed() },
  ]);
  expect(results).toEqual([
    { executionId: runningId, verdict: 'conflict', status: 'RUNNING' },
    { executionId: 424_242, verdict: 'conflict', status: null },
  ]);
  expect(await tableDigests(o)).toEqual(digests);
});
