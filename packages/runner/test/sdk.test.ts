import type { Execution, Job, JobType } from '@hourglass/contracts';
import { createRunner, defineHandler, PermanentError, type Runner } from '@hourglass/runner';
import { Cluster } from '@hourglass/testkit/cluster';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { z } from 'zod';

/**
 * Your own code through the SDK (issue 9): handlers defined here, run by `createRunner` in this process against two
 * real orchestrator processes on one database.
 */

const cluster = new Cluster();
let runner: Runner;

/** What each handler saw, for the assertions. */
const seen = { cancelledSignal: false, attempts: new Map<number, number>(), hookCalls: 0 };

const Report = z.object({
  title: z.string().min(1),
  rows: z.array(z.object({ name: z.string(), amount: z.number() })).max(1000),
  currency: z.enum(['EUR', 'USD']).default('EUR'),
});

const renderReport = defineHandler({
  type: 'sdk.render-report',
  payload: Report,
  retry: { maxAttempts: 4, backoff: { initialDelayMs: 100 } },
  handle: async (report, ctx) => {
    // Typed end to end: `report.rows[0].amount` is a number, `report.currency` is 'EUR' | 'USD'.
    const total = report.rows.reduce((sum, r) => sum + r.amount, 0);
    ctx.progress(50);
    await new Promise((r) => setTimeout(r, 1_500)); // long enough for a heartbeat to carry the progress
    ctx.progress({ rendered: report.rows.length });
    return {
      title: report.title.toUpperCase(),
      total,
      currency: report.currency,
      job: ctx.jobId,
      attempt: ctx.attempt,
      maxAttempts: ctx.maxAttempts,
    };
  },
});

const charge = defineHandler({
  type: 'sdk.charge',
  payload: z.object({ card: z.string(), cents: z.number().int().positive() }),
  handle: async ({ card, cents }) => {
    if (card === 'declined') throw new PermanentError(`card ${card} declined`, { code: 'CARD_DECLINED' });
    return { charged: cents };
  },
});

const flaky = defineHandler({
  type: 'sdk.flaky',
  handle: async (_payload, ctx) => {
    seen.attempts.set(ctx.jobId, ctx.attempt);
    if (ctx.attempt < 2) throw new Error(`flaky on attempt ${ctx.attempt}`);
    return { ok: ctx.attempt };
  },
});

const waitForCancel = defineHandler({
  type: 'sdk.wait-for-cancel',
  handle: (_payload, ctx) =>
    new Promise((_resolve, reject) => {
      ctx.signal.addEventListener('abort', () => {
        seen.cancelledSignal = true;
        reject(ctx.signal.reason);
      });
    }),
});

let invalidJobId = 0;

beforeAll(async () => {
  // Heartbeats every 5 s: progress reported mid-way must be sent early (within a second) to be seen.
  await cluster.start({ HEARTBEAT_INTERVAL_MS: '5000' }, { orchestrators: 2 });
  // Created before any runner declared the type, so the orchestrator cannot check it: the runner's own parse
  // refuses it.
  const early = await cluster.request<Job>('POST', '/jobs', {
    type: 'sdk.render-report',
    payload: { title: '' },
  });
  expect(early.status).toBe(201);
  expect(early.body.warnings?.[0]?.code).toBe('TYPE_UNDECLARED');
  invalidJobId = early.body.id;
  runner = createRunner({
    orchestratorUrl: cluster.orchestrators.map((o) => o.url),
    handlers: [renderReport, charge, flaky, waitForCancel],
    concurrency: 4,
    name: 'sdk-test-runner',
    logger: pino({ level: 'silent' }),
    // Hooks that throw are logged and change nothing.
    hooks: {
      onStart: () => {
        seen.hookCalls++;
        throw new Error('a broken metrics hook');
      },
      onFinish: () => {
        seen.hookCalls++;
        throw new Error('another broken hook');
      },
    },
    handleSignals: false,
  });
  await runner.start();
}, 120_000);

afterAll(async () => {
  await runner?.stop();
  await cluster.stop();
});

/** POST /jobs, then GET /jobs/{id}?wait=: the job once final (through the second replica). */
const runToEnd = (body: Record<string, unknown>) => cluster.runToEnd(body, cluster.orchestrators[1]!.url);

const executions = async (jobId: number) =>
  (await cluster.get<{ items: Execution[] }>(`/jobs/${jobId}/executions`)).body.items;

test('the runner declared its types with their schemas and retry defaults', async () => {
  const { body } = await cluster.get<{ items: JobType[] }>('/job-types');
  const report = body.items.find((t) => t.name === 'sdk.render-report')!;
  expect(report.runners.map((r) => r.id)).toEqual([runner.id]);
  expect(report.payloadSchema).toMatchObject({ type: 'object', required: ['title', 'rows'] });
  expect(report.retry.maxAttempts).toBe(4);
  expect(body.items.find((t) => t.name === 'sdk.flaky')).toMatchObject({ payloadSchema: null });
});

test('a handler runs with its typed payload (defaults filled in) and its result is stored', async () => {
  const job = await runToEnd({
    type: 'sdk.render-report',
    payload: {
      title: 'q3 sales',
      rows: [
        { name: 'a', amount: 40 },
        { name: 'b', amount: 2 },
      ],
    },
  });
  expect(job.status).toBe('SUCCEEDED');
  expect(job.maxAttempts).toBe(4); // the handler's declared default
  expect(job.lastExecution?.result).toEqual({
    title: 'Q3 SALES',
    total: 42,
    currency: 'EUR',
    job: job.id,
    attempt: 1,
    maxAttempts: 4,
  });
  // Both hooks ran for it (and threw), and changed nothing.
  expect(seen.hookCalls).toBeGreaterThanOrEqual(2);
  // The progress reported half-way rode a heartbeat to the orchestrator.
  expect(job.lastExecution?.progress).toEqual(50);
  expect(job.lastExecution?.progressAt).not.toBeNull();
});

test('the orchestrator refuses a payload the handler’s schema would refuse, naming the field', async () => {
  const res = await cluster.request<{ errors: { field: string }[] }>('POST', '/jobs', {
    type: 'sdk.render-report',
    payload: { title: 'x', rows: [{ name: 'a', amount: 'lots' }] },
  });
  expect(res.status).toBe(400);
  expect(res.body.errors[0]!.field).toBe('payload.rows.0.amount');
});

test('a payload that reached the runner unchecked fails once with PAYLOAD_INVALID and is dead-lettered', async () => {
  const job = await cluster.finalJob(invalidJobId);
  expect(job.status).toBe('FAILED');
  expect(job.lastExecution).toMatchObject({ attempt: 1, errorCode: 'PAYLOAD_INVALID' });
  expect(job.lastExecution?.error).toMatch(/^payload\.title: /);
});

test('PermanentError: one attempt, FAILED with its code, dead-lettered', async () => {
  const job = await runToEnd({ type: 'sdk.charge', payload: { card: 'declined', cents: 500 } });
  expect(job.status).toBe('FAILED');
  const history = await executions(job.id);
  expect(history).toHaveLength(1);
  expect(history[0]).toMatchObject({ status: 'FAILED', retryable: false, errorCode: 'CARD_DECLINED' });
  const dead = (await cluster.get<{ items: { jobId: number; attempts: number }[] }>('/dead-letters')).body
    .items;
  expect(dead.find((d) => d.jobId === job.id)).toMatchObject({ attempts: 1 });

  const ok = await runToEnd({ type: 'sdk.charge', payload: { card: 'visa', cents: 500 } });
  expect(ok.lastExecution?.result).toEqual({ charged: 500 });
});

test('a thrown error is retried (with the job’s backoff), and the next attempt succeeds', async () => {
  const job = await runToEnd({ type: 'sdk.flaky', backoff: { initialDelayMs: 100 } });
  expect(job.status).toBe('SUCCEEDED');
  expect(seen.attempts.get(job.id)).toBe(2);
  const history = await executions(job.id);
  expect(history.map((e) => [e.attempt, e.status])).toEqual([
    [2, 'SUCCEEDED'],
    [1, 'FAILED'],
  ]);
  expect(history[1]!.error).toBe('flaky on attempt 1');
});

test('cancelling a running job aborts the handler’s signal', async () => {
  const created = await cluster.request<Job>('POST', '/jobs', { type: 'sdk.wait-for-cancel' });
  await cluster.until('the execution to start', async () =>
    (await cluster.activeExecutions()).some((e) => e.jobId === created.body.id) ? true : undefined,
  );
  await cluster.request('POST', `/jobs/${created.body.id}/cancel`);
  await cluster.until('the handler to see the abort', async () => (seen.cancelledSignal ? true : undefined));
  const history = await cluster.until('the execution to be CANCELLED', async () => {
    const e = await executions(created.body.id);
    return e[0]?.status === 'CANCELLED' ? e : undefined;
  });
  expect(history).toHaveLength(1);
});

test('queues: a runner created with `queues` serves only those queues (issue 14)', async () => {
  const queued = defineHandler({ type: 'sdk.queued', handle: () => ({ ran: true }) });
  const picky = createRunner({
    orchestratorUrl: cluster.orchestrators.map((o) => o.url),
    handlers: [queued],
    queues: ['sdk-mine'],
    name: 'sdk-picky',
    logger: pino({ level: 'silent' }),
    handleSignals: false,
  });
  await picky.start();
  try {
    const { body: runners } = await cluster.get<{ items: { id: string; queues: string[] | null }[] }>(
      '/runners',
    );
    expect(runners.items.find((r) => r.id === picky.id)?.queues).toEqual(['sdk-mine']);
    const other = await cluster.request<Job>('POST', '/jobs', { type: 'sdk.queued', queue: 'sdk-other' });
    const mine = await runToEnd({ type: 'sdk.queued', queue: 'sdk-mine' });
    expect(mine).toMatchObject({ status: 'SUCCEEDED', queue: 'sdk-mine' });
    // The other queue's job, due first, was never taken.
    const { body: still } = await cluster.get<Job>(`/jobs/${other.body.id}`);
    expect(still.status).toBe('SCHEDULED');
    await cluster.request('POST', `/jobs/${other.body.id}/cancel`);
  } finally {
    await picky.stop();
  }
});
