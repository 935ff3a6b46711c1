import { sql } from 'kysely';
import { expect, test } from 'vitest';
import {
  claim,
  claimOne,
  completeOk,
  createJob,
  failed,
  orchestratorPerFile,
  registerRunner,
} from './helpers.js';

/** A one-shot job has at most one open execution, and the database says so (issue 10, defect 4). */

const o = orchestratorPerFile();

const openOf = async (jobId: number) =>
  (
    await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM executions WHERE job_id = ${jobId} AND status IN ('PENDING', 'RUNNING')`.execute(
      o.db,
    )
  ).rows[0]!.n;

test('trigger then requeue of a dead-lettered one-shot job: the requeue is a 409, one attempt runs', async () => {
  const runner = await registerRunner(o, { types: ['once-race'] });
  const job = await createJob(o, { type: 'once-race', maxAttempts: 1 });
  const e = await claimOne(o, runner, 0);
  await completeOk(o, runner, e.id, failed('dead'));
  const dead = (await o.app.inject({ method: 'GET', url: '/dead-letters' })).json().items;
  const letter = dead.find((d: { jobId: number }) => d.jobId === job.id);
  expect(letter).toBeDefined();

  expect((await o.app.inject({ method: 'POST', url: `/jobs/${job.id}/trigger` })).statusCode).toBe(202);
  const requeue = await o.app.inject({ method: 'POST', url: `/dead-letters/${letter.id}/requeue` });
  expect(requeue.statusCode, requeue.body).toBe(409);
  expect(requeue.json().code).toBe('JOB_STATE');
  expect(await openOf(job.id)).toBe(1);
  expect(await claim(o, runner, { max: 5 })).toHaveLength(1);
});

test('the database refuses a second open execution of a one-shot job, and allows them for a recurring one', async () => {
  const once = await createJob(o, { type: 'once-db', delayMs: 600_000 });
  await expect(
    sql`INSERT INTO executions (job_id, job_type, priority, attempt, ready, scheduled_for, one_shot)
        VALUES (${once.id}, 'once-db', 0, 1, true, now(), true)`.execute(o.db),
  ).rejects.toThrow(/executions_one_open_per_once_job/);
  expect(await openOf(once.id)).toBe(1);

  const recurring = await createJob(o, { type: 'once-db', intervalSeconds: 3600, overlapPolicy: 'allow' });
  for (let i = 0; i < 2; i++) {
    expect((await o.app.inject({ method: 'POST', url: `/jobs/${recurring.id}/trigger` })).statusCode).toBe(
      202,
    );
    await new Promise((r) => setTimeout(r, 5)); // occurrences are keyed by their time
  }
  expect(await openOf(recurring.id)).toBe(2);
});
