import { sql } from 'kysely';
import { describe, expect, test } from 'vitest';
import { DEFAULT_RETENTION } from '../src/config.js';
import { CLEAN_TARGETS, JobLifecycle } from '../src/lifecycle/job-lifecycle.js';
import type { Retention } from '../src/queue/clean-history.js';
import type { CompletionInput } from '../src/queue/complete-executions.js';
import type { NewJob } from '../src/queue/insert-jobs.js';
import { promoteDueExecutions } from '../src/queue/promote-due-executions.js';
import { registerRunner as registerRunnerRow } from '../src/queue/register-runner.js';
import { sequenceEvents } from '../src/queue/sequence-events.js';
import {
  claim,
  complete,
  createJob,
  createJobs,
  eventually,
  failed,
  jobExecutions,
  orchestratorPerFile,
  registerRunner,
  succeeded,
} from './helpers.js';
import { steppedLifecyclePerFile } from './stepped-lifecycle.js';

/**
 * Retention (issue 12): the cleaner deletes exactly what has expired — never a live job, a job with an open
 * execution, a dead letter retention keeps, or a recurring job's definition — and replicas cleaning at once delete
 * each row once. Time is stepped (the lifecycle's clock), so days pass in a statement.
 */

const DAY = 86_400;
const RETENTION: Retention = DEFAULT_RETENTION; // 7 days SUCCEEDED and CANCELLED, 30 FAILED, dead letters kept

const stepped = steppedLifecyclePerFile({
  type: 'keep',
  start: '2031-01-01T00:00:00Z',
  runnerId: '00000000-0000-4000-8000-0000000000aa',
});
const RUNNER = stepped.runnerId;
const advanceDays = (days: number) => stepped.advance(days * DAY * 1000);
/** A one-shot job with one attempt (a failure is final and dead-lettered). */
const newJob = (fields: Partial<NewJob> = {}) => stepped.newJob({ max_attempts: 1, ...fields });

const claimAll = () =>
  stepped.lifecycle.claim({
    runnerId: RUNNER,
    types: ['keep'],
    queues: null,
    max: 1000,
    leaseMs: 3_600_000,
    maxBytes: 1 << 30,
  });
const report = (ids: number[], status: CompletionInput['status']) => stepped.report(ids, status);
/** Runs every job due now to `status` (its only attempt). */
async function finishAll(status: CompletionInput['status']) {
  const claimed = await claimAll();
  await report(
    claimed.map((c) => c.id),
    status,
  );
  return claimed;
}
const exists = async (table: 'jobs' | 'executions' | 'runners', id: number | string) =>
  (
    await sql<{ n: number }>`SELECT count(*)::int AS n FROM ${sql.table(table)} WHERE id = ${id}`.execute(
      stepped.db,
    )
  ).rows[0]!.n === 1;
async function cleanAll(on: JobLifecycle = stepped.lifecycle): Promise<Record<string, number>> {
  const deleted: Record<string, number> = {};
  for (const kind of CLEAN_TARGETS) {
    deleted[kind] = 0;
    for (;;) {
      const n = await on.cleanExpired(kind, RETENTION, 50);
      deleted[kind] += n;
      if (n < 50) break;
    }
  }
  return deleted;
}

describe('the cleaner', () => {
  test('deletes one-shot jobs past their status’s retention with their history, and nothing else', async () => {
    const [done] = await stepped.lifecycle.create([newJob()]);
    await finishAll('SUCCEEDED');
    const [forever, own] = await stepped.lifecycle.create([
      newJob({ keep_forever: true }),
      newJob({ retention_seconds: 2 * DAY }),
    ]);
    await finishAll('SUCCEEDED');
    const [deadLettered] = await stepped.lifecycle.create([newJob()]);
    await finishAll('FAILED'); // one attempt: FAILED, with a dead letter nobody requeued
    const [stillRunning] = await stepped.lifecycle.create([newJob()]);
    const [running] = await claimAll();
    await stepped.lifecycle.cancel(stillRunning!.id); // CANCELLED, but its execution runs until the runner aborts it
    const [waiting] = await stepped.lifecycle.create([
      newJob({ run_at: new Date(stepped.now().getTime() + 60 * DAY * 1000).toISOString() }),
    ]);

    advanceDays(3);
    expect(await cleanAll()).toMatchObject({ jobs: 1 }); // past its own 2 days
    expect(await exists('jobs', own!.id)).toBe(false);
    expect(await exists('jobs', done!.id)).toBe(true);

    advanceDays(5); // 8 days: past 7 for SUCCEEDED and CANCELLED
    const first = await cleanAll();
    expect(first.jobs).toBe(1);
    expect(await exists('jobs', done!.id)).toBe(false);
    const gone = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM executions WHERE job_id = ${done!.id}
    `.execute(stepped.db);
    expect(gone.rows[0]!.n).toBe(0); // its executions went with it
    expect(await exists('jobs', forever!.id)).toBe(true);
    expect(await exists('jobs', stillRunning!.id)).toBe(true); // an open execution
    expect(await exists('jobs', waiting!.id)).toBe(true);

    advanceDays(30); // past 30 for FAILED: its dead letter (never requeued) still keeps it
    expect((await cleanAll()).jobs).toBe(0);
    expect(await exists('jobs', deadLettered!.id)).toBe(true);
    expect(await exists('jobs', forever!.id)).toBe(true);

    // Once its execution ends, the cancelled job ages out like any other.
    await report([running!.id], 'CANCELLED');
    advanceDays(8);
    expect((await cleanAll()).jobs).toBe(1);
    expect(await exists('jobs', stillRunning!.id)).toBe(false);
    expect(await exists('jobs', waiting!.id)).toBe(true);
    await stepped.lifecycle.cancel(waiting!.id);
  });

  test('a dead letter kept by RETENTION_DEAD_LETTERS_SECONDS is deleted, with its job, once that passes', async () => {
    const [job] = await stepped.lifecycle.create([newJob()]);
    await finishAll('FAILED');
    advanceDays(31);
    await cleanAll();
    expect(await exists('jobs', job!.id)).toBe(true); // past 30 days, but its dead letter keeps it
    const withLimit = { ...RETENTION, deadLetters: 40 * DAY };
    await stepped.lifecycle.cleanExpired('jobs', withLimit, 50);
    expect(await exists('jobs', job!.id)).toBe(true);
    advanceDays(10);
    await stepped.lifecycle.cleanExpired('jobs', withLimit, 50);
    expect(await exists('jobs', job!.id)).toBe(false);
  });

  test('a parent whose dependent has not finished is kept past its retention, then cleaned (flows)', async () => {
    // `done` succeeds at once; `child` also waits for `slow`, due in 10 days.
    const [done, slow] = await stepped.lifecycle.create([newJob(), newJob({ delay_ms: 10 * DAY * 1000 })]);
    const { rows } = await stepped.lifecycle.createGraph(
      [{ job: newJob(), refs: [], ids: [done!.id, slow!.id], onParentFailure: 'cancel', ref: null }],
      { flow: false, field: () => 'dependsOn' },
    );
    const child = rows[0]!;
    await finishAll('SUCCEEDED');
    advanceDays(8);
    await cleanAll();
    expect(await exists('jobs', done!.id)).toBe(true); // past 7 days, but `child` still waits and will read it
    advanceDays(2);
    await promoteDueExecutions(stepped.db, 100, stepped.now()); // the promoter loop does not run here
    await finishAll('SUCCEEDED'); // `slow`, then `child` once released
    await finishAll('SUCCEEDED');
    const { rows: finished } = await sql<{
      status: string;
    }>`SELECT status FROM jobs WHERE id = ${child.id}`.execute(stepped.db);
    expect(finished[0]!.status).toBe('SUCCEEDED');
    await cleanAll();
    expect(await exists('jobs', done!.id)).toBe(false);
  });

  test('a recurring job keeps its definition; its old executions and occurrences age out', async () => {
    const [job] = await stepped.lifecycle.create([
      newJob({
        kind: 'interval',
        interval_seconds: 3600,
        run_at: new Date(stepped.now().getTime() + 3_600_000).toISOString(),
      }),
    ]);
    await stepped.lifecycle.trigger(job!.id);
    const [ok] = await finishAll('SUCCEEDED');
    stepped.advance(1_000); // occurrences are unique per (job, time)
    await stepped.lifecycle.trigger(job!.id);
    await finishAll('FAILED'); // dead-lettered (max 1 attempt): kept while its dead letter is
    advanceDays(8);
    const deleted = await cleanAll();
    expect(deleted.executions).toBe(1);
    expect(await exists('executions', ok!.id)).toBe(false);
    expect(await exists('jobs', job!.id)).toBe(true);
    const left = await sql<{
      status: string;
    }>`SELECT status FROM executions WHERE job_id = ${job!.id}`.execute(stepped.db);
    expect(left.rows.map((r) => r.status)).toEqual(['FAILED']);
    // Its occurrences (the triggered ones, 8 days old) went after the longest retention: not yet.
    advanceDays(25);
    expect((await cleanAll()).occurrences).toBe(2);
    await stepped.lifecycle.cancel(job!.id);
  });

  test('OFFLINE runners are deleted after RETENTION_OFFLINE_RUNNERS; live ones never', async () => {
    const id = '00000000-0000-4000-8000-0000000000bb';
    await registerRunnerRow(stepped.db, {
      id,
      name: 'gone',
      host: 'test',
      types: ['keep'],
      capacity: 1,
      apiKeyId: null,
      schemaHashes: {},
      queues: null,
    });
    await sql`UPDATE runners SET status = 'OFFLINE', last_heartbeat_at = ${stepped.now().toISOString()}::timestamptz WHERE id = ${id}`.execute(
      stepped.db,
    );
    await sql`UPDATE runners SET last_heartbeat_at = ${stepped.now().toISOString()}::timestamptz WHERE id = ${RUNNER}`.execute(
      stepped.db,
    );
    advanceDays(2);
    expect((await cleanAll()).runners).toBe(1);
    expect(await exists('runners', id)).toBe(false);
    expect(await exists('runners', RUNNER)).toBe(true);
  });

  test('events older than RETENTION_EVENTS_SECONDS are deleted, oldest first, in batches; newer ones kept', async () => {
    await sequenceEvents(stepped.db, 100_000);
    const before = await sql<{ id: number }>`SELECT max(id) AS id FROM events`.execute(stepped.db);
    const cutoff = before.rows[0]!.id ?? 0;
    // 120 events now (created, claimed, succeeded, job.succeeded for 30 jobs), then some 8 days later.
    await stepped.lifecycle.create(Array.from({ length: 30 }, () => newJob()));
    await finishAll('SUCCEEDED');
    advanceDays(8);
    const [later] = await stepped.lifecycle.create([newJob()]);
    await sequenceEvents(stepped.db, 100_000);
    const old = await sql<{ n: number }>`SELECT count(*)::int AS n FROM events WHERE id > ${cutoff}`.execute(
      stepped.db,
    );
    expect(old.rows[0]!.n).toBe(121);
    // Everything older than 7 days goes (also what earlier tests of this file left), in batches of 50.
    const olderThanAWeek = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM events WHERE at < ${stepped.now().toISOString()}::timestamptz - interval '7 days'
    `.execute(stepped.db);
    expect((await cleanAll()).events).toBe(olderThanAWeek.rows[0]!.n);
    const left = await sql<{ kind: string; job_id: number }>`SELECT kind, job_id FROM events`.execute(
      stepped.db,
    );
    expect(left.rows).toEqual([{ kind: 'job.created', job_id: later!.id }]);
    // Leaves no job behind for the tests below.
    await finishAll('SUCCEEDED');
    await stepped.lifecycle.delete(later!.id);
  });

  test('two replicas cleaning at once delete each expired row once, and claims go on meanwhile', async () => {
    const jobs = await stepped.lifecycle.create(Array.from({ length: 400 }, () => newJob()));
    await finishAll('SUCCEEDED');
    const [live] = await stepped.lifecycle.create([newJob()]);
    advanceDays(8);
    const other = new JobLifecycle(stepped.db, stepped.now);
    const [a, b, claimed] = await Promise.all([cleanAll(stepped.lifecycle), cleanAll(other), claimAll()]);
    expect(a.jobs! + b.jobs!).toBe(400);
    expect(claimed.map((c) => c.job_id)).toEqual([live!.id]);
    for (const j of jobs.slice(0, 5)) expect(await exists('jobs', j.id)).toBe(false);
    await report([claimed[0]!.id], 'SUCCEEDED');
  });
});

describe('over HTTP, with the cleaner loop running', () => {
  const o = orchestratorPerFile({
    RETENTION_SUCCEEDED_SECONDS: '1',
    CLEANER_INTERVAL_MS: '200',
  });

  test('DELETE /jobs/{id}: a finished job goes with its history; a waiting one is refused; an unknown one is 404', async () => {
    const runner = await registerRunner(o, { types: ['deletable'] });
    const waiting = await createJob(o, { type: 'deletable', delayMs: 3_600_000 });
    const refused = await o.app.inject({ method: 'DELETE', url: `/jobs/${waiting.id}` });
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toMatchObject({ code: 'JOB_STATE' });
    const job = await createJob(o, { type: 'deletable', retention: 'forever', maxAttempts: 1 });
    const [e] = await claim(o, runner, { max: 1 });
    await complete(o, runner, e!.id, failed());
    const gone = await o.app.inject({ method: 'DELETE', url: `/jobs/${job.id}` });
    expect(gone.statusCode, gone.body).toBe(204);
    expect((await o.app.inject({ method: 'GET', url: `/jobs/${job.id}` })).statusCode).toBe(404);
    expect((await o.app.inject({ method: 'GET', url: `/executions/${e!.id}` })).statusCode).toBe(404);
    expect((await o.app.inject({ method: 'DELETE', url: `/jobs/${job.id}` })).statusCode).toBe(404);
  });

  test('POST /jobs/purge deletes finished jobs matching the filter, and only those', async () => {
    const runner = await registerRunner(o, { types: ['purged', 'spared'] });
    const purged = await createJob(o, { type: 'purged', retention: 'forever' });
    const spared = await createJob(o, { type: 'spared', retention: 'forever' });
    for (const e of await claim(o, runner, { max: 2 })) await complete(o, runner, e.id, succeeded());
    const res = await o.app.inject({
      method: 'POST',
      url: '/jobs/purge',
      payload: { finishedBefore: new Date(Date.now() + 60_000).toISOString(), type: 'purged' },
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({ deleted: 1, more: false });
    expect((await o.app.inject({ method: 'GET', url: `/jobs/${purged.id}` })).statusCode).toBe(404);
    expect((await o.app.inject({ method: 'GET', url: `/jobs/${spared.id}` })).json()).toMatchObject({
      retention: 'forever',
    });
  });

  test('reads after the cleaner deleted every other job: cursor pages, executions and dead letters hold the rest', async () => {
    const runner = await registerRunner(o, { types: ['paged'], capacity: 24 });
    // Every other job is kept forever; the others expire a second after they succeed.
    const jobs = await createJobs(
      o,
      Array.from({ length: 24 }, (_, i) => ({
        type: 'paged',
        maxAttempts: 1,
        ...(i % 2 === 0 ? { retention: 'forever' as const } : {}),
      })),
    );
    const claimed = await claim(o, runner, { max: 24 });
    expect(claimed).toHaveLength(24);
    // The last one fails: a dead letter, kept by default retention along with its job.
    for (const e of claimed)
      await complete(o, runner, e.id, e.jobId === jobs[23]!.id ? failed() : succeeded());
    const kept = jobs.filter((_, i) => i % 2 === 0 || i === 23).map((j) => j.id);
    await eventually(
      'the expired half deleted by the cleaner loop',
      async () => {
        const { rows } = await sql<{ n: number }>`
          SELECT count(*)::int AS n FROM jobs WHERE type = 'paged'`.execute(o.db);
        return rows[0]!.n === kept.length ? true : undefined;
      },
      30_000,
    );
    const seen: number[] = [];
    let cursor: number | null = null;
    do {
      const page = await o.app.inject({
        method: 'GET',
        url: `/jobs?type=paged&limit=5${cursor ? `&cursor=${cursor}` : ''}`,
      });
      expect(page.statusCode, page.body).toBe(200);
      const body = page.json() as { items: { id: number }[]; nextCursor: number | null };
      seen.push(...body.items.map((j) => j.id));
      cursor = body.nextCursor;
    } while (cursor !== null);
    expect(seen).toEqual([...kept].sort((a, b) => b - a)); // newest first, each once
    for (const id of [kept[0]!, kept.at(-1)!]) {
      const history = await jobExecutions(o, id);
      expect(history).toHaveLength(1);
      expect(history[0]!.jobId).toBe(id);
    }
    const letters = await o.app.inject({ method: 'GET', url: '/dead-letters?limit=500' });
    expect((letters.json() as { items: { jobId: number }[] }).items.map((d) => d.jobId)).toContain(
      jobs[23]!.id,
    );
  });

  test('the cleaner loop deletes a succeeded job once RETENTION_SUCCEEDED_SECONDS has passed, and counts it', async () => {
    const runner = await registerRunner(o, { types: ['aging'] });
    const job = await createJob(o, { type: 'aging' });
    const [e] = await claim(o, runner, { max: 1 });
    await complete(o, runner, e!.id, succeeded());
    await eventually(
      'the job deleted by retention',
      async () =>
        (await o.app.inject({ method: 'GET', url: `/jobs/${job.id}` })).statusCode === 404 ? true : undefined,
      30_000,
    );
    const metrics = (await o.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toMatch(/hourglass_retention_deleted_total\{kind="jobs"\} [1-9]/);
  });
});
