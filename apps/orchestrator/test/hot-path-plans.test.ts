import { type RawBuilder, sql } from 'kysely';
import { expect, test } from 'vitest';
import { claimStatement } from '../src/queue/claim-executions.js';
import { completeStatement } from '../src/queue/complete-executions.js';
import { claim, orchestratorPerFile, registerRunner } from './helpers.js';

/**
 * The claim and report statements find the jobs and executions they change by primary key, whatever the
 * statistics say (issue 15). Statistics taken before a burst of creates (ANALYZE on near-empty tables, as right
 * after a deploy or a quiet night) once made the planner read every SCHEDULED job per claim and compare every
 * running execution with every reported id: throughput of 20,000 pre-enqueued jobs fell from ~3,300 to ~500 jobs/s.
 */

const o = orchestratorPerFile();

/** EXPLAIN ANALYZE of a statement, rolled back: nothing it writes stays. */
async function explain(statement: RawBuilder<unknown>): Promise<string> {
  return o.db.transaction().execute(async (trx) => {
    await sql`SELECT set_config('enable_sort', 'off', true)`.execute(trx);
    const { rows } = await sql<{ 'QUERY PLAN': string }>`EXPLAIN (ANALYZE, FORMAT TEXT) ${statement}`.execute(
      trx,
    );
    await sql`ROLLBACK`.execute(trx).catch(() => {});
    const plan = rows.map((r) => r['QUERY PLAN']).join('\n');
    if (process.env.SHOW_PLAN) console.log(plan);
    return plan;
  });
}

/** Rows the plan's nodes threw away after reading them (filters and join filters), in all. */
const rowsDiscarded = (plan: string) =>
  [...plan.matchAll(/Rows Removed by (?:Join )?Filter: (\d+)/g)].reduce((n, m) => n + Number(m[1]), 0);

test('claims and reports of 200 read about 200 rows on tables analyzed before 5,000 jobs arrived', async () => {
  await sql`ANALYZE jobs`.execute(o.db);
  await sql`ANALYZE executions`.execute(o.db);
  await sql`
    WITH j AS (
      INSERT INTO jobs (type, run_at) SELECT 'plan-noop', now() FROM generate_series(1, 5000) RETURNING id
    )
    INSERT INTO executions (job_id, job_type, priority, attempt, ready, scheduled_for, one_shot)
    SELECT id, 'plan-noop', 0, 1, true, now() - interval '1 minute', true FROM j
  `.execute(o.db);

  const runnerId = await registerRunner(o, { types: ['plan-noop'], capacity: 500 });
  const claimPlan = await explain(
    claimStatement({
      runnerId,
      types: ['plan-noop'],
      queues: null,
      max: 200,
      leaseMs: 30_000,
      maxBytes: 4 * 1024 * 1024,
    }),
  );
  expect(claimPlan).not.toContain('jobs_status');
  expect(rowsDiscarded(claimPlan)).toBeLessThan(200);

  // 200 running under this runner, and a report of all of them.
  const claimed = await claim(o, runnerId, { max: 200 });
  expect(claimed).toHaveLength(200);
  const reportPlan = await explain(
    completeStatement(
      runnerId,
      claimed.map((e) => ({
        id: e.id,
        status: 'SUCCEEDED' as const,
        error: null,
        result: null,
        started_at: null,
        retryable: null,
        error_code: null,
      })),
    ),
  );
  expect(reportPlan).not.toContain('jobs_status');
  // A semi-join comparing each running execution with each reported id discards 199 × 200 rows.
  expect(rowsDiscarded(reportPlan)).toBeLessThan(6_000);
});
