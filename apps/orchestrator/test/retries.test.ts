import type { ClaimedExecution, Execution } from '@hourglass/contracts';
import {
  startTestOrchestrator,
  stopTestOrchestrator,
  type TestOrchestrator,
} from '@hourglass/testkit/orchestrator';
import { afterAll, beforeAll, expect, test } from 'vitest';
import {
  claim,
  claimOne,
  completeOk,
  createJob,
  failed,
  getJob,
  jobExecutions,
  ms,
  registerRunner,
  succeeded,
} from './helpers.js';

/**
 * Failed attempts are retried after exponential backoff until maxAttempts, then the job is FAILED and
 * dead-lettered; an operator can requeue it once. Delays are checked exactly: the failed attempt's finishedAt
 * and the next attempt's scheduledFor come from the same transaction's now().
 */

let o: TestOrchestrator;
let runnerId: string;
beforeAll(async () => {
  o = await startTestOrchestrator();
  runnerId = await registerRunner(o, { types: ['echo', 'noop', 'sleep'], capacity: 10 });
});
afterAll(() => stopTestOrchestrator(o));

async function deadLetters(includeRequeued = false) {
  const res = await o.app.inject({ method: 'GET', url: `/dead-letters?includeRequeued=${includeRequeued}` });
  expect(res.statusCode, res.body).toBe(200);
  return res.json().items as {
    id: number;
    jobId: number;
    executionId: number;
    attempts: number;
    error: string;
  }[];
}

/** Fails `e` and answers the attempt that was scheduled after it (if any) with its delay in ms. */
async function failAndNext(jobId: number, e: ClaimedExecution, error: string) {
  const done = await completeOk(o, runnerId, e.id, failed(error));
  expect(done).toMatchObject({ id: e.id, status: 'FAILED', error });
  const history = await jobExecutions(o, jobId);
  const next = history.find((x) => x.attempt === e.attempt + 1);
  return { done, next, delay: next ? ms(next.scheduledFor) - ms(done.finishedAt) : undefined, history };
}

test('a job failing every attempt runs exactly maxAttempts times with exponential backoff, then is dead-lettered', async () => {
  const job = await createJob(o, {
    type: 'noop',
    maxAttempts: 4,
    backoff: { initialDelayMs: 100, factor: 2 },
  });
  expect(job.backoff).toEqual({ initialDelayMs: 100, factor: 2, maxDelayMs: 3_600_000, jitter: false });

  const delays: number[] = [];
  const claimed: ClaimedExecution[] = [];
  for (let attempt = 1; attempt <= 4; attempt++) {
    const e = await claimOne(o, runnerId, 5);
    expect(e).toMatchObject({ jobId: job.id, attempt, maxAttempts: 4 });
    claimed.push(e);
    const { next, delay } = await failAndNext(job.id, e, `failure ${attempt}`);
    if (attempt < 4) {
      expect(next, `attempt ${attempt + 1} scheduled`).toMatchObject({ status: 'PENDING', runnerId: null });
      delays.push(delay!);
      expect((await getJob(o, job.id)).status).toBe('SCHEDULED');
    } else {
      expect(next).toBeUndefined();
    }
  }
  expect(delays).toEqual([100, 200, 400]);

  // Exactly four attempts, all FAILED, and no fifth one waiting anywhere.
  const history = await jobExecutions(o, job.id);
  expect(history.map((x) => [x.attempt, x.status])).toEqual([
    [1, 'FAILED'],
    [2, 'FAILED'],
    [3, 'FAILED'],
    [4, 'FAILED'],
  ]);
  expect(new Set(claimed.map((e) => e.id)).size).toBe(4);
  const finished = await getJob(o, job.id);
  expect(finished).toMatchObject({ status: 'FAILED', lastExecution: { attempt: 4, status: 'FAILED' } });
  expect(finished.finishedAt).not.toBeNull();
  expect(await claim(o, runnerId, { max: 10 })).toEqual([]);

  const dead = (await deadLetters()).filter((d) => d.jobId === job.id);
  expect(dead).toHaveLength(1);
  expect(dead[0]).toMatchObject({
    executionId: claimed[3]!.id,
    attempts: 4,
    error: 'failure 4',
    type: 'noop',
  });

  // Requeue: a fresh attempt 1 that runs and may succeed.
  const requeued = await o.app.inject({ method: 'POST', url: `/dead-letters/${dead[0]!.id}/requeue` });
  expect(requeued.statusCode, requeued.body).toBe(202);
  const fresh: Execution = requeued.json();
  expect(fresh).toMatchObject({ jobId: job.id, attempt: 1, status: 'PENDING' });
  expect((await getJob(o, job.id)).status).toBe('SCHEDULED');
  expect((await deadLetters()).filter((d) => d.jobId === job.id)).toEqual([]);
  expect((await deadLetters(true)).filter((d) => d.jobId === job.id)).toHaveLength(1);

  const again = await claimOne(o, runnerId, 5);
  expect(again).toMatchObject({ id: fresh.id, jobId: job.id, attempt: 1 });
  await completeOk(o, runnerId, again.id, succeeded({ ok: true }));
  expect(await getJob(o, job.id)).toMatchObject({ status: 'SUCCEEDED', lastExecution: { id: fresh.id } });
  expect(await jobExecutions(o, job.id)).toHaveLength(5);

  // A dead letter is requeued once.
  const second = await o.app.inject({ method: 'POST', url: `/dead-letters/${dead[0]!.id}/requeue` });
  expect(second.statusCode).toBe(409);
  expect(second.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(await jobExecutions(o, job.id)).toHaveLength(5);
  expect((await getJob(o, job.id)).status).toBe('SUCCEEDED');
});

/** Moves a waiting retry to now (instead of waiting out its backoff) and answers it as moved. */
async function trigger(jobId: number): Promise<Execution> {
  const res = await o.app.inject({ method: 'POST', url: `/jobs/${jobId}/trigger` });
  expect(res.statusCode, res.body).toBe(202);
  return res.json();
}

test('the default policy is 3 attempts with 5 s then 10 s between them', async () => {
  const job = await createJob(o, { type: 'echo', payload: 'default policy' });
  expect(job).toMatchObject({
    maxAttempts: 3,
    backoff: { initialDelayMs: 5_000, factor: 2, maxDelayMs: 3_600_000, jitter: false },
  });

  const delays: number[] = [];
  for (let attempt = 1; attempt <= 3; attempt++) {
    const e = await claimOne(o, runnerId, 5);
    expect(e).toMatchObject({ jobId: job.id, attempt, maxAttempts: 3 });
    const { next, delay } = await failAndNext(job.id, e, `default ${attempt}`);
    if (attempt === 3) {
      expect(next).toBeUndefined();
      break;
    }
    delays.push(delay!);
    // Not claimable before its backoff is over...
    expect(await claim(o, runnerId, { max: 10 })).toEqual([]);
    // ...so pull it forward instead of waiting: trigger moves the waiting attempt, it does not add one.
    const moved = await trigger(job.id);
    expect(moved).toMatchObject({ id: next!.id, attempt: attempt + 1, status: 'PENDING' });
    expect(ms(moved.scheduledFor)).toBeLessThan(ms(next!.scheduledFor));
  }
  expect(delays).toEqual([5_000, 10_000]);
  expect(await getJob(o, job.id)).toMatchObject({ status: 'FAILED' });
  expect((await jobExecutions(o, job.id)).map((x) => [x.attempt, x.status])).toEqual([
    [1, 'FAILED'],
    [2, 'FAILED'],
    [3, 'FAILED'],
  ]);
  expect((await deadLetters()).filter((d) => d.jobId === job.id)).toMatchObject([
    { attempts: 3, error: 'default 3' },
  ]);
});

test('maxDelayMs caps the backoff', async () => {
  const job = await createJob(o, {
    type: 'sleep',
    payload: { durationMs: 0 },
    maxAttempts: 4,
    backoff: { initialDelayMs: 1_000, factor: 3, maxDelayMs: 2_500 },
  });
  const delays: number[] = [];
  for (let attempt = 1; attempt <= 3; attempt++) {
    const e = await claimOne(o, runnerId, 5);
    expect(e).toMatchObject({ jobId: job.id, attempt });
    const { next, delay } = await failAndNext(job.id, e, `capped ${attempt}`);
    expect(next).toBeDefined();
    delays.push(delay!);
    await trigger(job.id);
  }
  // 1000, 3000 → 2500, 9000 → 2500
  expect(delays).toEqual([1_000, 2_500, 2_500]);
  const last = await claimOne(o, runnerId, 5);
  expect(last).toMatchObject({ jobId: job.id, attempt: 4 });
  await completeOk(o, runnerId, last.id, succeeded());
});

test('an attempt that succeeds after failures ends the retries', async () => {
  const job = await createJob(o, { type: 'noop', maxAttempts: 5, backoff: { initialDelayMs: 0 } });
  const first = await claimOne(o, runnerId, 5);
  const { delay } = await failAndNext(job.id, first, 'once');
  expect(delay).toBe(0);
  const second = await claimOne(o, runnerId, 5);
  expect(second).toMatchObject({ jobId: job.id, attempt: 2 });
  await completeOk(o, runnerId, second.id, succeeded(7));
  expect(await getJob(o, job.id)).toMatchObject({ status: 'SUCCEEDED' });
  expect((await jobExecutions(o, job.id)).map((x) => x.status)).toEqual(['FAILED', 'SUCCEEDED']);
  expect((await deadLetters(true)).filter((d) => d.jobId === job.id)).toEqual([]);
});
