import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import pg from 'pg';
import { expect, test } from 'vitest';
import { createJob, eventually, orchestratorPerFile } from './helpers.js';

/** The scheduler's cost does not grow with history, and it does not spin (issue 10, defect 7). */

const o = orchestratorPerFile();

test('a due recurring job another replica holds does not make the scheduler spin; it is planned once released', async () => {
  const startAt = new Date(Date.now() + 1_500).toISOString();
  const job = await createJob(o, { type: 'noop', intervalSeconds: 3600, startAt });
  // Another replica planning this job: its row is locked, so this scheduler's SKIP LOCKED passes it by.
  const other = new pg.Client({ connectionString: o.database.url });
  await other.connect();
  try {
    await other.query('BEGIN');
    await other.query('SELECT 1 FROM jobs WHERE id = $1 FOR UPDATE', [job.id]);
    await sleep(Math.max(0, Date.parse(startAt) - Date.now()) + 300);
    const scheduler = o.loops.scheduler!;
    const before = scheduler.ticks;
    await sleep(2_000);
    const ticks = scheduler.ticks - before;
    // About 40 (one per 50 ms) while the job is held elsewhere; spinning at 0 ms made it thousands. And it goes on
    // ticking (a loaded machine's CI once saw 3 ticks in one second, so two seconds and a loose floor).
    expect(ticks).toBeLessThan(120);
    expect(ticks).toBeGreaterThan(3);
  } finally {
    await other.query('ROLLBACK');
    await other.end();
  }
  await eventually('the occurrence to be planned once the job is released', async () => {
    const { rows } = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM occurrences WHERE job_id = ${job.id}`.execute(o.db);
    return rows[0]!.n === 1 ? true : undefined;
  });
});

test('"is an occurrence still open?" reads the open executions of the job, not its history', async () => {
  const job = await createJob(o, { type: 'noop', intervalSeconds: 3600 });
  // A long history: 20,000 finished executions of this job.
  await sql`
    INSERT INTO executions (job_id, job_type, priority, attempt, ready, scheduled_for, status, finished_at)
    SELECT ${job.id}, 'noop', 0, 1, false, now() - g * interval '1 second', 'SUCCEEDED', now() - g * interval '1 second'
    FROM generate_series(1, 20000) AS g
  `.execute(o.db);
  await sql`ANALYZE executions`.execute(o.db);
  // The predicate the scheduler (lockDueRecurringJobs) and the completion statements use.
  const { rows } = await sql<{ 'QUERY PLAN': unknown }>`
    EXPLAIN (FORMAT JSON)
    SELECT EXISTS (SELECT 1 FROM executions e WHERE e.job_id = ${job.id} AND e.status IN ('PENDING', 'RUNNING'))
  `.execute(o.db);
  expect(JSON.stringify(rows[0]!['QUERY PLAN'])).toContain('executions_open_by_job');
});
