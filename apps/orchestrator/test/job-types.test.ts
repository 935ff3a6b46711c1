import type { Execution, Job, JobType } from '@hourglass/contracts';
import {
  startTestOrchestrator,
  stopTestOrchestrator,
  type TestOrchestrator,
} from '@hourglass/testkit/orchestrator';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { z } from 'zod';
import { claimOne, completeOk, createJob, eventually, failed, registerRunner, rowCounts } from './helpers.js';

/**
 * Open job types (issue 9): any well-formed name; runners declare schemas and retry defaults at register; payloads
 * are checked at the door; permanent failures, progress, results and create-and-wait. Two replicas on one database,
 * with the safety net set to a minute, so anything that crosses replicas within seconds went through NOTIFY.
 */

const env = { WAKE_SAFETY_NET_MS: '60000' };
let a: TestOrchestrator;
let b: TestOrchestrator;
beforeAll(async () => {
  a = await startTestOrchestrator({ env });
  b = await startTestOrchestrator({ env, database: a.database });
});
afterAll(async () => {
  await stopTestOrchestrator(b, true);
  await stopTestOrchestrator(a);
});

/** What @hourglass/runner declares for a handler: the input side of its zod schema as JSON Schema. */
const Resize = z.object({
  url: z.url(),
  width: z.number().int().min(1).max(10_000),
  format: z.enum(['png', 'jpeg']).default('png'),
});
const resizeSchema = z.toJSONSchema(Resize, { io: 'input' }) as Record<string, unknown>;

async function register(o: TestOrchestrator, types: unknown[], name = 'sdk-runner') {
  const res = await o.app.inject({
    method: 'POST',
    url: '/runners/register',
    payload: { name, host: 'h', types, capacity: 5 },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().id as string;
}

function post(o: TestOrchestrator, url: string, payload?: unknown) {
  return o.app.inject({ method: 'POST', url, payload: payload as object | undefined });
}

async function jobTypes(o: TestOrchestrator): Promise<Map<string, JobType>> {
  const res = await o.app.inject({ method: 'GET', url: '/job-types' });
  expect(res.statusCode, res.body).toBe(200);
  return new Map((res.json().items as JobType[]).map((t) => [t.name, t]));
}

describe('payloads are checked against the schema a runner declared', () => {
  let runnerId: string;
  beforeAll(async () => {
    runnerId = await register(a, [{ type: 'resize-image', payloadSchema: resizeSchema }, 'echo']);
  });

  test('a payload that violates the schema is a 400 naming the field, and nothing is written', async () => {
    const before = await rowCounts(a);
    const cases: [unknown, string, string][] = [
      [{ url: 'https://x.test/a.png', width: 'wide' }, 'payload.width', 'integer'],
      [{ url: 'https://x.test/a.png' }, 'payload.width', 'required'],
      [{ url: 'not a url', width: 10 }, 'payload.url', 'format'],
      [{ url: 'https://x.test/a.png', width: 0 }, 'payload.width', '>= 1'],
      [{ url: 'https://x.test/a.png', width: 10, format: 'gif' }, 'payload.format', 'allowed'],
      [undefined, 'payload', 'object'],
    ];
    for (const [payload, field, words] of cases) {
      const res = await post(a, '/jobs', { type: 'resize-image', payload });
      expect(res.statusCode, res.body).toBe(400);
      const body = res.json();
      expect(body.code).toBe('VALIDATION_FAILED');
      expect(body.errors[0].field, JSON.stringify(payload)).toBe(field);
      expect(body.errors[0].message).toContain(words);
    }
    const batch = await post(a, '/jobs/batch', {
      jobs: [
        { type: 'resize-image', payload: { url: 'https://x.test/a.png', width: 5 } },
        { type: 'resize-image', payload: { url: 'https://x.test/a.png', width: -5 } },
      ],
    });
    expect(batch.statusCode).toBe(400);
    expect(batch.json().errors[0].field).toBe('jobs.1.payload.width');
    expect(await rowCounts(a)).toEqual(before);
  });

  test('a valid payload is accepted as given (defaults are the runner’s to fill), without warnings', async () => {
    const res = await post(a, '/jobs', {
      type: 'resize-image',
      payload: { url: 'https://x.test/a.png', width: 640 },
    });
    expect(res.statusCode, res.body).toBe(201);
    const job: Job = res.json();
    expect(job.payload).toEqual({ url: 'https://x.test/a.png', width: 640 });
    expect(job.warnings).toBeUndefined();
    const claimed = await claimOne(a, runnerId, 0);
    expect(claimed.jobId).toBe(job.id);
    await completeOk(a, runnerId, claimed.id, { status: 'SUCCEEDED', result: { bytes: 1234 } });
  });

  test('the other replica checks against the same schema', async () => {
    const res = await post(b, '/jobs', { type: 'resize-image', payload: { url: 'https://x.test/a.png' } });
    expect(res.statusCode).toBe(400);
    expect(res.json().errors[0].field).toBe('payload.width');
  });
});

test('a type no runner declared is accepted, with a TYPE_UNDECLARED warning; it is listed once seen', async () => {
  const res = await post(a, '/jobs', { type: 'send.email', payload: { to: 'a@b.test' } });
  expect(res.statusCode, res.body).toBe(201);
  const job: Job = res.json();
  expect(job.warnings).toEqual([expect.objectContaining({ code: 'TYPE_UNDECLARED' })]);
  expect(job.warnings![0]!.message).toContain('send.email');
  const listed = (await jobTypes(a)).get('send.email');
  expect(listed).toMatchObject({ builtin: false, payloadSchema: null, runners: [], dueBacklog: 1 });
  expect(listed!.oldestDueAgeSeconds).toBeGreaterThanOrEqual(0);
  expect(listed!.lastDeclaredAt).toBeNull();

  // Declared without a schema: no warning any more, and still nothing to check against.
  const runnerId = await register(a, ['send.email'], 'mailer');
  const again = await post(a, '/jobs', { type: 'send.email', payload: 42 });
  expect(again.statusCode).toBe(201);
  expect(again.json().warnings).toBeUndefined();
  const after = (await jobTypes(a)).get('send.email')!;
  expect(after.runners).toEqual([{ id: runnerId, name: 'mailer', status: 'ONLINE', schemaMatches: null }]);
  expect(after.dueBacklog).toBe(2);
});

test('built-in types keep their own schema; a runner cannot replace it', async () => {
  await register(a, [{ type: 'sleep', payloadSchema: { type: 'string' } }], 'sleepy');
  const ok = await post(a, '/jobs', { type: 'sleep', payload: { durationMs: 1 } });
  expect(ok.statusCode, ok.body).toBe(201);
  const bad = await post(a, '/jobs', { type: 'sleep', payload: 'nap' });
  expect(bad.statusCode).toBe(400);
  const sleep = (await jobTypes(a)).get('sleep')!;
  expect(sleep.builtin).toBe(true);
  expect(sleep.payloadSchema).toMatchObject({ type: 'object' });
});

test('the newest registration’s schema wins, across replicas, and the change shows in GET /job-types', async () => {
  const v1 = { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] };
  const v2 = { type: 'object', properties: { n: { type: 'string' } }, required: ['n'] };
  const first = await register(a, [{ type: 'count', payloadSchema: v1 }], 'count-v1');
  expect((await post(a, '/jobs', { type: 'count', payload: { n: 1 } })).statusCode).toBe(201);
  // The same schema again (keys in another order) is the same version.
  await register(
    a,
    [{ type: 'count', payloadSchema: { required: ['n'], properties: v1.properties, type: 'object' } }],
    'count-v1b',
  );
  expect((await jobTypes(a)).get('count')!.schemaVersion).toBe(1);
  // Replica a caches v1 now …
  expect((await post(a, '/jobs', { type: 'count', payload: { n: 'one' } })).statusCode).toBe(400);

  const second = await register(b, [{ type: 'count', payloadSchema: v2 }], 'count-v2');
  // … and hears of v2 through NOTIFY (its cache would otherwise keep v1 for 10 s).
  await eventually('replica a to check against v2', async () => {
    const res = await post(a, '/jobs', { type: 'count', payload: { n: 'one' } });
    return res.statusCode === 201 ? true : undefined;
  });
  expect((await post(a, '/jobs', { type: 'count', payload: { n: 1 } })).json().errors[0].field).toBe(
    'payload.n',
  );

  const count = (await jobTypes(a)).get('count')!;
  expect(count.schemaVersion).toBe(2);
  expect(count.schemaDeclaredBy).toBe(second);
  expect(count.payloadSchema).toEqual(v2);
  const matches = Object.fromEntries(count.runners.map((r) => [r.id, r.schemaMatches]));
  expect(matches[first]).toBe(false);
  expect(matches[second]).toBe(true);
});

test('retry defaults declared for a type apply to jobs that set none', async () => {
  await register(a, [{ type: 'flaky-api', retry: { maxAttempts: 5, backoff: { initialDelayMs: 100 } } }]);
  const byDefault = await createJob(a, { type: 'flaky-api' });
  expect(byDefault.maxAttempts).toBe(5);
  expect(byDefault.backoff).toMatchObject({ initialDelayMs: 100, factor: 2 });
  const own = await createJob(a, { type: 'flaky-api', maxAttempts: 2, backoff: { initialDelayMs: 7 } });
  expect(own.maxAttempts).toBe(2);
  expect(own.backoff.initialDelayMs).toBe(7);
  expect((await createJob(a, { type: 'echo' })).maxAttempts).toBe(3);
});

describe('outcomes a runner reports', () => {
  let runnerId: string;
  beforeAll(async () => {
    runnerId = await registerRunner(a, { types: ['perm'] });
  });

  async function runOnce(outcome: Parameters<typeof completeOk>[3], maxAttempts = 3) {
    const job = await createJob(a, { type: 'perm', maxAttempts });
    const claimed = await claimOne(a, runnerId, 0);
    expect(claimed.jobId).toBe(job.id);
    const execution = await completeOk(a, runnerId, claimed.id, outcome);
    const after: Job = (await a.app.inject({ method: 'GET', url: `/jobs/${job.id}` })).json();
    return { job: after, execution };
  }

  test('a failure reported as not retryable skips the remaining attempts and is dead-lettered at once', async () => {
    const { job, execution } = await runOnce({ status: 'FAILED', error: 'card declined', retryable: false });
    expect(job.status).toBe('FAILED');
    expect(execution).toMatchObject({
      status: 'FAILED',
      retryable: false,
      errorCode: 'PERMANENT',
      attempt: 1,
    });
    const executions = (await a.app.inject({ method: 'GET', url: `/jobs/${job.id}/executions` })).json()
      .items;
    expect(executions).toHaveLength(1);
    const dead = (await a.app.inject({ method: 'GET', url: '/dead-letters' })).json().items;
    expect(dead.find((d: { jobId: number }) => d.jobId === job.id)).toMatchObject({
      attempts: 1,
      error: 'card declined',
    });
  });

  test('a permanent failure keeps its own code (PAYLOAD_INVALID)', async () => {
    const { job } = await runOnce({
      status: 'FAILED',
      error: 'payload.width: expected number',
      retryable: false,
      code: 'PAYLOAD_INVALID',
    });
    expect(job.lastExecution).toMatchObject({ status: 'FAILED', errorCode: 'PAYLOAD_INVALID' });
  });

  test('a plain failure is retried', async () => {
    const { job, execution } = await runOnce(failed('try again'));
    expect(execution).toMatchObject({ retryable: true, errorCode: null });
    expect(job.status).toBe('SCHEDULED');
    expect(job.lastExecution).toMatchObject({ attempt: 2, status: 'PENDING' });
  });

  test('progress travels with heartbeats and shows on the execution and the job', async () => {
    const job = await createJob(a, { type: 'perm' });
    const claimed = await claimOne(a, runnerId, 0);
    const beat = (progress: Record<string, unknown>) =>
      post(a, `/runners/${runnerId}/heartbeat`, { running: [claimed.id], progress });
    expect((await beat({ [claimed.id]: 40 })).statusCode).toBe(200);
    let e: Execution = (await a.app.inject({ method: 'GET', url: `/executions/${claimed.id}` })).json();
    expect(e.progress).toBe(40);
    expect(e.progressAt).not.toBeNull();
    // A heartbeat without progress keeps the last value; a new one replaces it; progress of an execution this
    // runner does not hold is ignored.
    await post(a, `/runners/${runnerId}/heartbeat`, { running: [claimed.id] });
    await beat({ [claimed.id]: { done: 9, of: 10 }, '999999': 50 });
    e = (await a.app.inject({ method: 'GET', url: `/executions/${claimed.id}` })).json();
    expect(e.progress).toEqual({ done: 9, of: 10 });
    const shown: Job = (await a.app.inject({ method: 'GET', url: `/jobs/${job.id}` })).json();
    expect(shown.lastExecution?.progress).toEqual({ done: 9, of: 10 });
    await completeOk(a, runnerId, claimed.id, { status: 'SUCCEEDED', result: { sent: true } });
  });
});

describe('GET /jobs/{id}?wait= answers when the job is final', () => {
  let runnerId: string;
  beforeAll(async () => {
    runnerId = await registerRunner(b, { types: ['slow-report'] });
  });

  test('a job completed through the other replica wakes the wait at once, with its result', async () => {
    const job = await createJob(a, { type: 'slow-report' });
    const startedAt = Date.now();
    const waiting = a.app.inject({ method: 'GET', url: `/jobs/${job.id}?wait=30` });
    const claimed = await claimOne(b, runnerId, 5);
    await new Promise((r) => setTimeout(r, 300));
    await completeOk(b, runnerId, claimed.id, { status: 'SUCCEEDED', result: { pages: 12 } });
    const res = await waiting;
    const took = Date.now() - startedAt;
    expect(res.statusCode, res.body).toBe(200);
    const body: Job = res.json();
    expect(body.status).toBe('SUCCEEDED');
    expect(body.lastExecution?.result).toEqual({ pages: 12 });
    // Woken by NOTIFY: the safety net is a minute, the wait 30 s.
    expect(took).toBeLessThan(10_000);
  });

  test('an already final job answers at once; a job that stays pending answers at the deadline as it is', async () => {
    const done = await createJob(a, { type: 'slow-report' });
    await post(a, `/jobs/${done.id}/cancel`);
    const res = await a.app.inject({ method: 'GET', url: `/jobs/${done.id}?wait=30` });
    expect(res.json().status).toBe('CANCELLED');

    const pending = await createJob(a, { type: 'slow-report', delayMs: 600_000 });
    const startedAt = Date.now();
    const late = await a.app.inject({ method: 'GET', url: `/jobs/${pending.id}?wait=1` });
    expect(late.statusCode).toBe(200);
    expect(late.json().status).toBe('SCHEDULED');
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(900);
    expect((await a.app.inject({ method: 'GET', url: '/jobs/999999?wait=1' })).statusCode).toBe(404);
  });

  test('cancelling wakes a waiter', async () => {
    const job = await createJob(a, { type: 'slow-report', delayMs: 600_000 });
    const waiting = b.app.inject({ method: 'GET', url: `/jobs/${job.id}?wait=30` });
    await new Promise((r) => setTimeout(r, 300));
    const startedAt = Date.now();
    await post(a, `/jobs/${job.id}/cancel`);
    expect((await waiting).json().status).toBe('CANCELLED');
    expect(Date.now() - startedAt).toBeLessThan(10_000);
  });
});

test('a body-less POST sent with Content-Type: application/json is a request without a body', async () => {
  const job = await createJob(a, { type: 'echo', delayMs: 600_000 });
  for (const payload of ['', '  \n']) {
    const res = await a.app.inject({
      method: 'POST',
      url: `/jobs/${job.id}/trigger`,
      payload,
      headers: { 'content-type': 'application/json' },
    });
    expect(res.statusCode, res.body).toBe(202);
  }
  // Where a body is required, no body is still a 400 naming it.
  const empty = await a.app.inject({
    method: 'POST',
    url: '/jobs',
    payload: '',
    headers: { 'content-type': 'application/json' },
  });
  expect(empty.statusCode).toBe(400);
  expect(empty.json().code).toBe('VALIDATION_FAILED');
  // And malformed JSON is still malformed.
  const broken = await a.app.inject({
    method: 'POST',
    url: '/jobs',
    payload: '{',
    headers: { 'content-type': 'application/json' },
  });
  expect(broken.statusCode).toBe(400);
});
