import { sql } from 'kysely';
import { expect, test } from 'vitest';
import { releaseExecutions } from '../src/queue/release-executions.js';
import {
  claim,
  claimOne,
  completeOk,
  createJob,
  failed,
  getExecution,
  getJob,
  orchestratorPerFile,
  registerRunner,
} from './helpers.js';

/**
 * Work a user cancelled or paused does not run again (issue 10, defect 3): the paths that give a runner's
 * executions back to the queue look at the job, and a paused job's failed occurrence is not retried.
 */

const o = orchestratorPerFile();

const execution = (id: number) => getExecution(o, id);
const post = (url: string, payload?: unknown) =>
  o.app.inject({ method: 'POST', url, payload: payload as object | undefined });

test('a runner deregistering with a cancelled job’s execution it never started: cancelled, not queued', async () => {
  const runner = await registerRunner(o, { types: ['dereg-cancel'] });
  const job = await createJob(o, { type: 'dereg-cancel' });
  const e = await claimOne(o, runner, 0);
  expect((await post(`/jobs/${job.id}/cancel`)).statusCode).toBe(200);
  const res = await o.app.inject({ method: 'DELETE', url: `/runners/${runner}`, payload: { started: [] } });
  expect(res.statusCode, res.body).toBe(200);
  expect((await execution(e.id)).status).toBe('CANCELLED');
  const other = await registerRunner(o, { types: ['dereg-cancel'] });
  expect(await claim(o, other, { max: 5 })).toEqual([]);
  expect((await getJob(o, job.id)).status).toBe('CANCELLED');
});

test('a claim whose long-poll went away gives back executions, but not those of a job cancelled meanwhile', async () => {
  const runner = await registerRunner(o, { types: ['abort-cancel'] });
  const keep = await createJob(o, { type: 'abort-cancel' });
  const drop = await createJob(o, { type: 'abort-cancel' });
  const claimed = await claim(o, runner, { max: 2 });
  expect(claimed).toHaveLength(2);
  expect((await post(`/jobs/${drop.id}/cancel`)).statusCode).toBe(200);
  await releaseExecutions(
    o.db,
    runner,
    claimed.map((e) => e.id),
  );
  const byJob = new Map(claimed.map((e) => [e.jobId, e.id]));
  expect((await execution(byJob.get(keep.id)!)).status).toBe('PENDING');
  expect((await execution(byJob.get(drop.id)!)).status).toBe('CANCELLED');
  expect((await claim(o, runner, { max: 5 })).map((e) => e.jobId)).toEqual([keep.id]);
});

test('a paused job’s occurrence that fails is not retried during the pause', async () => {
  const runner = await registerRunner(o, { types: ['paused-fail'] });
  const job = await createJob(o, {
    type: 'paused-fail',
    intervalSeconds: 3600,
    backoff: { initialDelayMs: 0 },
  });
  expect((await post(`/jobs/${job.id}/trigger`)).statusCode).toBe(202);
  const e = await claimOne(o, runner, 2);
  expect((await post(`/jobs/${job.id}/pause`)).statusCode).toBe(200);
  await completeOk(o, runner, e.id, failed('failed while paused'));
  const { rows } = await sql<{ n: number }>`
    SELECT count(*)::int AS n FROM executions WHERE job_id = ${job.id} AND status IN ('PENDING', 'RUNNING')`.execute(
    o.db,
  );
  expect(rows[0]!.n).toBe(0);
  expect(await claim(o, runner, { max: 5 })).toEqual([]);
  expect((await getJob(o, job.id)).status).toBe('PAUSED');
});
