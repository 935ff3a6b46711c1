import { sql } from 'kysely';
import { expect, test } from 'vitest';
import { claimStatement } from '../src/queue/claim-executions.js';
import { claim, createJob, createJobs, orchestratorPerFile, registerRunner } from './helpers.js';

/** A claim's cost follows the runner's own types, not other types' backlog (issue 10, defect 6). */

const o = orchestratorPerFile();

/** Rows the claim statement's index scans read (EXPLAIN ANALYZE, rolled back: nothing is claimed). */
async function rowsRead(types: string[], max: number): Promise<number> {
  return o.db.transaction().execute(async (trx) => {
    await sql`SELECT set_config('enable_sort', 'off', true)`.execute(trx);
    const { rows } = await sql<{ 'QUERY PLAN': string }>`EXPLAIN (ANALYZE, FORMAT TEXT) ${claimStatement({
      runnerId: '00000000-0000-4000-8000-000000000000',
      types,
      queues: null,
      max,
      leaseMs: 30_000,
      maxBytes: 4 * 1024 * 1024,
    })}`.execute(trx);
    await sql`ROLLBACK`.execute(trx).catch(() => {});
    const plan = rows.map((r) => r['QUERY PLAN']).join('\n');
    // Every index scan over the claim index: its rows plus those its filter removed, per loop.
    let read = 0;
    const lines = plan.split('\n');
    lines.forEach((line, i) => {
      if (!/Index Scan using executions_claimable/.test(line)) return;
      const actual = /actual time=[\d.]+\.\.[\d.]+ rows=([\d.]+) loops=(\d+)/.exec(line);
      const removed =
        /Rows Removed by Filter: (\d+)/.exec(lines[i + 2] ?? '') ??
        /Rows Removed by Filter: (\d+)/.exec(lines[i + 1] ?? '');
      if (actual) read += Number(actual[1]) * Number(actual[2]) + Number(removed?.[1] ?? 0);
    });
    if (process.env.SHOW_PLAN) console.log(plan);
    expect(plan).toContain('executions_claimable_by_lane');
    return read;
  });
}

test('with 20,000 due executions of another type, a claim reads only its own type', async () => {
  await sql`
    WITH j AS (
      INSERT INTO jobs (type, run_at) SELECT 'bulk-webhook', now() FROM generate_series(1, 20000) RETURNING id
    )
    INSERT INTO executions (job_id, job_type, priority, attempt, ready, scheduled_for, one_shot)
    SELECT id, 'bulk-webhook', 0, 1, true, now() - interval '1 minute', true FROM j
  `.execute(o.db);
  await sql`ANALYZE executions`.execute(o.db);
  const mine = await createJob(o, { type: 'solo-noop' });
  expect(await rowsRead(['solo-noop'], 10)).toBeLessThan(10);
  // A runner serving both still reads at most `max` of the big type.
  expect(await rowsRead(['solo-noop', 'bulk-webhook'], 10)).toBeLessThan(30);

  const runner = await registerRunner(o, { types: ['solo-noop'] });
  expect((await claim(o, runner, { max: 10 })).map((e) => e.jobId)).toEqual([mine.id]);
});

test('with 20,000 due executions of its type in a paused queue, a claim reads only the open queues (issue 14)', async () => {
  await sql`
    WITH j AS (
      INSERT INTO jobs (type, run_at, queue) SELECT 'lane-noop', now(), 'held' FROM generate_series(1, 20000)
      RETURNING id
    )
    INSERT INTO executions (job_id, job_type, priority, attempt, ready, scheduled_for, one_shot, queue)
    SELECT id, 'lane-noop', 5, 1, true, now() - interval '1 minute', true, 'held' FROM j
  `.execute(o.db);
  await sql`INSERT INTO queues (name, paused) VALUES ('held', true)`.execute(o.db);
  await sql`ANALYZE executions`.execute(o.db);
  const mine = await createJob(o, { type: 'lane-noop' });
  expect(await rowsRead(['lane-noop'], 10)).toBeLessThan(10);
  const runner = await registerRunner(o, { types: ['lane-noop'] });
  expect((await claim(o, runner, { max: 10 })).map((e) => e.jobId)).toEqual([mine.id]);
});

test('a runner serving several types gets them in claim order: priority, then due time, across types', async () => {
  const [low, high, mid] = await createJobs(o, [
    { type: 'mix-a', priority: 1 },
    { type: 'mix-b', priority: 9 },
    { type: 'mix-a', priority: 5 },
  ]);
  const runner = await registerRunner(o, { types: ['mix-a', 'mix-b'] });
  const got = [];
  for (let i = 0; i < 3; i++) got.push(...(await claim(o, runner, { max: 1 })));
  expect(got.map((e) => e.jobId)).toEqual([high!.id, mid!.id, low!.id]);
});
