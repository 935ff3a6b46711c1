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
  getExecution,
  getJob,
  heartbeat,
  jobExecutions,
  ms,
  registerRunner,
  succeeded,
} from './helpers.js';

/** Cancel, trigger, drain and deregister, and what runners are told about them. */

let o: TestOrchestrator;
beforeAll(async () => {
  o = await startTestOrchestrator();
});
afterAll(() => stopTestOrchestrator(o));

const cancel = (jobId: number) => o.app.inject({ method: 'POST', url: `/jobs/${jobId}/cancel` });
const trigger = (jobId: number) => o.app.inject({ method: 'POST', url: `/jobs/${jobId}/trigger` });

async function openDeadLetters(jobId: number) {
  const res = await o.app.inject({ method: 'GET', url: '/dead-letters?includeRequeued=true' });
  return (res.json().items as { jobId: number }[]).filter((d) => d.jobId === jobId);
}

test('cancelling a pending job cancels its execution, which is never claimed', async () => {
  const runner = await registerRunner(o, { types: ['echo'] });
  const job = await createJob(o, { payload: 'never' });
  const res = await cancel(job.id);
  expect(res.statusCode, res.body).toBe(200);
  expect(res.json()).toMatchObject({ id: job.id, status: 'CANCELLED' });
  expect(res.json().finishedAt).not.toBeNull();

  expect(await claim(o, runner, { max: 10 })).toEqual([]);
  const [e] = await jobExecutions(o, job.id);
  expect(e).toMatchObject({ status: 'CANCELLED', runnerId: null, claimedAt: null });
  expect(await jobExecutions(o, job.id)).toHaveLength(1);

  // Cancelled is final: no trigger brings it back.
  expect((await trigger(job.id)).statusCode).toBe(409);
  // Cancelling again is harmless.
  expect((await cancel(job.id)).statusCode).toBe(200);
  expect(await jobExecutions(o, job.id)).toHaveLength(1);
});

test('cancelling a running job reaches its runner through the heartbeat; its CANCELLED report ends the job', async () => {
  const runner = await registerRunner(o, { types: ['sleep'] });
  const job = await createJob(o, { type: 'sleep', payload: { durationMs: 60_000 } });
  const e = await claimOne(o, runner, 0);
  expect(e.jobId).toBe(job.id);
  expect(await heartbeat(o, runner, [e.id])).toMatchObject({ cancel: [], drain: false });

  const res = await cancel(job.id);
  expect(res.statusCode, res.body).toBe(200);
  expect(res.json().status).toBe('CANCELLED');
  // Still running until the runner aborts it...
  expect((await getExecution(o, e.id)).status).toBe('RUNNING');
  // ...which its next heartbeat tells it to do.
  expect((await heartbeat(o, runner, [e.id])).cancel).toEqual([e.id]);

  const done = await completeOk(o, runner, e.id, { status: 'CANCELLED', error: 'aborted' });
  expect(done).toMatchObject({ id: e.id, status: 'CANCELLED' });
  expect(await getJob(o, job.id)).toMatchObject({ status: 'CANCELLED' });
  // No retry, no dead letter.
  expect((await jobExecutions(o, job.id)).map((x) => x.status)).toEqual(['CANCELLED']);
  expect(await openDeadLetters(job.id)).toEqual([]);
  expect(await claim(o, runner, { max: 10 })).toEqual([]);
  expect((await heartbeat(o, runner, [])).cancel).toEqual([]);
});

test('a running job that is cancelled and then reported FAILED is not retried', async () => {
  const runner = await registerRunner(o, { types: ['noop'] });
  const job = await createJob(o, { type: 'noop', backoff: { initialDelayMs: 0 } });
  const e = await claimOne(o, runner, 0);
  expect((await cancel(job.id)).statusCode).toBe(200);
  await completeOk(o, runner, e.id, { status: 'FAILED', error: 'aborted by cancel' });
  expect(await getJob(o, job.id)).toMatchObject({ status: 'CANCELLED' });
  expect(await jobExecutions(o, job.id)).toHaveLength(1);
  expect(await openDeadLetters(job.id)).toEqual([]);
});

test('a finished job cannot be cancelled; a trigger runs it again as a new occurrence', async () => {
  const runner = await registerRunner(o, { types: ['echo'] });
  const job = await createJob(o, { payload: 'again' });
  const first = await claimOne(o, runner, 0);
  await completeOk(o, runner, first.id, succeeded('first'));
  expect((await getJob(o, job.id)).status).toBe('SUCCEEDED');

  const refused = await cancel(job.id);
  expect(refused.statusCode).toBe(409);
  expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect((await getJob(o, job.id)).status).toBe('SUCCEEDED');

  const res = await trigger(job.id);
  expect(res.statusCode, res.body).toBe(202);
  const occurrence = res.json();
  expect(occurrence).toMatchObject({ jobId: job.id, attempt: 1, status: 'PENDING' });
  expect(occurrence.id).not.toBe(first.id);
  expect((await getJob(o, job.id)).status).toBe('SCHEDULED');

  const second = await claimOne(o, runner, 0);
  expect(second).toMatchObject({ id: occurrence.id, jobId: job.id, attempt: 1, payload: 'again' });
  // A running job is not triggered again.
  expect((await trigger(job.id)).statusCode).toBe(409);
  await completeOk(o, runner, second.id, succeeded('second'));
  expect((await jobExecutions(o, job.id)).map((x) => [x.attempt, x.status])).toEqual([
    [1, 'SUCCEEDED'],
    [1, 'SUCCEEDED'],
  ]);
  expect((await getJob(o, job.id)).status).toBe('SUCCEEDED');
});

test('a heartbeat naming an execution the runner does not hold answers it in cancel', async () => {
  const runner = await registerRunner(o, { types: ['echo'] });
  const other = await registerRunner(o, { types: ['echo'] });
  await createJob(o, { payload: 'held by other' });
  const held = await claimOne(o, other, 0);
  await createJob(o, { payload: 'finished' });
  const mine = await claimOne(o, runner, 0);
  await completeOk(o, runner, mine.id, succeeded());

  const hb = await heartbeat(o, runner, [held.id, mine.id, 999_999]);
  expect([...hb.cancel].sort((a, b) => a - b)).toEqual([mine.id, held.id, 999_999].sort((a, b) => a - b));
  // And nothing happens to the execution the other runner holds.
  expect(await getExecution(o, held.id)).toMatchObject({ status: 'RUNNING', runnerId: other });
  expect((await heartbeat(o, other, [held.id])).cancel).toEqual([]);
  // The body is optional: a bare heartbeat renews the leases and lists nothing.
  const bare = await o.app.inject({ method: 'POST', url: `/runners/${other}/heartbeat` });
  expect(bare.statusCode, bare.body).toBe(200);
  expect(bare.json()).toMatchObject({ cancel: [], drain: false });
  await completeOk(o, other, held.id, succeeded());
});

test('a drained runner is told so by its heartbeat and gets no more work', async () => {
  const runner = await registerRunner(o, { types: ['noop'] });
  const job = await createJob(o, { type: 'noop' });
  const res = await o.app.inject({ method: 'POST', url: `/runners/${runner}/drain` });
  expect(res.statusCode, res.body).toBe(202);
  expect(await heartbeat(o, runner)).toMatchObject({ drain: true });

  const next = await o.app.inject({ method: 'POST', url: `/runners/${runner}/next-job?max=5` });
  expect(next.statusCode).toBe(204);
  const list = await o.app.inject({ method: 'GET', url: '/runners' });
  expect((list.json().items as { id: string; status: string }[]).find((r) => r.id === runner)).toMatchObject({
    status: 'DRAINING',
  });
  expect((await jobExecutions(o, job.id))[0]).toMatchObject({ status: 'PENDING', runnerId: null });

  // Another runner takes it.
  const other = await registerRunner(o, { types: ['noop'] });
  const e = await claimOne(o, other, 0);
  expect(e.jobId).toBe(job.id);
  await completeOk(o, other, e.id, succeeded());
});

test('deregistering a runner that holds an execution fails it and schedules the retry', async () => {
  const runner = await registerRunner(o, { types: ['echo'] });
  const job = await createJob(o, { payload: 'abandoned' });
  const e = await claimOne(o, runner, 0);

  const res = await o.app.inject({ method: 'DELETE', url: `/runners/${runner}` });
  expect(res.statusCode, res.body).toBe(200);
  expect(res.json()).toMatchObject({ abandoned: [e.id] });

  const failed = await getExecution(o, e.id);
  expect(failed).toMatchObject({ status: 'FAILED', runnerId: runner, leaseExpiresAt: null });
  const history = await jobExecutions(o, job.id);
  expect(history.map((x) => [x.attempt, x.status])).toEqual([
    [1, 'FAILED'],
    [2, 'PENDING'],
  ]);
  // The default backoff: 5 s after the failure.
  expect(ms(history[1]!.scheduledFor) - ms(failed.finishedAt)).toBe(5_000);
  expect((await getJob(o, job.id)).status).toBe('SCHEDULED');

  const list = await o.app.inject({ method: 'GET', url: '/runners?includeOffline=true' });
  expect((list.json().items as { id: string; status: string }[]).find((r) => r.id === runner)).toMatchObject({
    status: 'OFFLINE',
  });
  // Its late report changes nothing.
  const late = await o.app.inject({
    method: 'POST',
    url: `/executions/${e.id}/complete`,
    payload: { runnerId: runner, outcome: succeeded() },
  });
  expect(late.statusCode).toBe(409);
  expect((await getExecution(o, e.id)).status).toBe('FAILED');
  expect((await o.app.inject({ method: 'POST', url: `/jobs/${job.id}/cancel` })).statusCode).toBe(200);
});

test('GET /executions/active lists running executions with their runner', async () => {
  const runner = await registerRunner(o, {
    name: 'busy-runner',
    host: 'box-1',
    types: ['sleep'],
    capacity: 5,
  });
  const jobs = [
    await createJob(o, { type: 'sleep', payload: { durationMs: 1 } }),
    await createJob(o, { type: 'sleep', payload: { durationMs: 2 } }),
  ];
  const claimed = await claim(o, runner, { max: 5 });
  expect(claimed.map((e) => e.jobId).sort((a, b) => a - b)).toEqual(jobs.map((j) => j.id));

  const res = await o.app.inject({ method: 'GET', url: '/executions/active' });
  expect(res.statusCode, res.body).toBe(200);
  const items = res.json().items as { id: number; status: string; runner: unknown }[];
  expect(items.map((x) => x.id).sort((a, b) => a - b)).toEqual(
    claimed.map((e) => e.id).sort((a, b) => a - b),
  );
  for (const item of items) {
    expect(item).toMatchObject({
      status: 'RUNNING',
      runnerId: runner,
      runner: { id: runner, name: 'busy-runner', host: 'box-1' },
    });
  }

  await completeOk(o, runner, claimed[0]!.id, succeeded());
  const after = await o.app.inject({ method: 'GET', url: '/executions/active' });
  expect((after.json().items as { id: number }[]).map((x) => x.id)).toEqual([claimed[1]!.id]);
  await completeOk(o, runner, claimed[1]!.id, succeeded());
  expect((await o.app.inject({ method: 'GET', url: '/executions/active' })).json().items).toEqual([]);
});
