import { randomUUID } from 'node:crypto';
import { type RawBuilder, sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { claimStartStatement, claimStatement } from '../src/queue/claim-executions.js';
import { completeStatement } from '../src/queue/complete-executions.js';
import { claim, orchestratorPerFile, registerRunner } from './helpers.js';

/**
 * The claim and report statements find the jobs and executions they change by primary key, whatever the
 * statistics say (issue 15). Statistics taken before a burst of creates (ANALYZE on near-empty tables, as right
 * after a deploy or a quiet night) once made the planner read every SCHEDULED job per claim and compare every
 * running execution with every reported id: throughput of 20,000 pre-enqueued jobs fell from ~3,300 to ~500 jobs/s.
 *
 * The orchestrator runs them as prepared statements with generic plans (db/prepared.ts), made once per connection
 * and kept: a runner's first claim on an empty database makes the plan that later claims use on a backlog. So the
 * plans checked here are made on the empty tables, before the 5,000 jobs arrive, and run after; and, for
 * DATABASE_PREPARED_STATEMENTS=false, plans made for each call's values (custom plans).
 */

const o = orchestratorPerFile();
let client: pg.Client;

beforeAll(async () => {
  client = new pg.Client({ connectionString: o.database.url });
  await client.connect();
});
afterAll(() => client.end());

const claimOf200 = (runnerId: string) =>
  claimStatement({
    runnerId,
    types: ['plan-noop'],
    queues: null,
    max: 200,
    leaseMs: 30_000,
    maxBytes: 4 * 1024 * 1024,
  });
const reportOf = (runnerId: string, ids: number[]) =>
  completeStatement(
    runnerId,
    ids.map((id) => ({
      id,
      status: 'SUCCEEDED' as const,
      error: null,
      result: null,
      started_at: null,
      retryable: null,
      error_code: null,
    })),
  );

/** Prepares `statement` as `name` on the test's connection, with plans of `mode`, and runs it once, rolled back. */
async function prepare(name: string, statement: RawBuilder<unknown>, mode: 'generic' | 'custom') {
  const { sql: text, parameters } = statement.compile(o.db);
  await client.query(`SET plan_cache_mode = force_${mode}_plan`);
  await client.query(`PREPARE ${name} AS ${text}`);
  await inRollback(async () => {
    await client.query('SET LOCAL enable_seqscan = off');
    return client.query(`EXECUTE ${name}(${literals(parameters)})`);
  });
}

/**
 * EXPLAIN ANALYZE of prepared statement `name` run with the parameters of `statement`, rolled back, with a plan of
 * `mode` (PostgreSQL chooses between the kept generic plan and a custom one at each execution, by plan_cache_mode).
 */
async function explain(
  name: string,
  statement: RawBuilder<unknown>,
  mode: 'generic' | 'custom',
): Promise<string> {
  const { parameters } = statement.compile(o.db);
  const { rows } = await inRollback(async () => {
    await client.query(`SET LOCAL plan_cache_mode = force_${mode}_plan`);
    await client.query('SET LOCAL enable_seqscan = off');
    return client.query<{ 'QUERY PLAN': string }>(
      `EXPLAIN (ANALYZE, FORMAT TEXT) EXECUTE ${name}(${literals(parameters)})`,
    );
  });
  const plan = rows.map((r) => r['QUERY PLAN']).join('\n');
  if (process.env.SHOW_PLAN) console.log(`${name}:\n${plan}`);
  return plan;
}

/** The parameters as SQL literals (EXECUTE takes values, not $n; their types are the prepared statement's). */
const literals = (parameters: readonly unknown[]) =>
  parameters
    .map((v) => {
      if (v === null || v === undefined) return 'NULL';
      if (typeof v === 'number' || typeof v === 'boolean') return String(v);
      if (v instanceof Date) return client.escapeLiteral(v.toISOString());
      if (Array.isArray(v))
        return client.escapeLiteral(`{${v.map((x) => JSON.stringify(String(x))).join(',')}}`);
      return client.escapeLiteral(String(v));
    })
    .join(', ');

/** Runs `fn` in a transaction with the claim's planner guard (as claims do), then rolls it back. */
async function inRollback<T>(fn: () => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  try {
    await client.query("SELECT set_config('enable_sort', 'off', true)");
    return await fn();
  } finally {
    await client.query('ROLLBACK');
  }
}

/** Rows the plan's nodes threw away after reading them (filters and join filters), in all. */
const rowsDiscarded = (plan: string) =>
  [...plan.matchAll(/Rows Removed by (?:Join )?Filter: (\d+)/g)].reduce((n, m) => n + Number(m[1]), 0);

test('claims and reports of 200 read about 200 rows, with plans made on tables analyzed before 5,000 jobs arrived', async () => {
  await sql`ANALYZE jobs`.execute(o.db);
  await sql`ANALYZE executions`.execute(o.db);
  const nobody = randomUUID();
  for (const mode of ['generic', 'custom'] as const) {
    await prepare(`claim_${mode}`, claimOf200(nobody), mode);
    await prepare(`report_${mode}`, reportOf(nobody, [1, 2]), mode);
  }

  await sql`
    WITH j AS (
      INSERT INTO jobs (type, run_at) SELECT 'plan-noop', now() FROM generate_series(1, 5000) RETURNING id
    )
    INSERT INTO executions (job_id, job_type, priority, attempt, ready, scheduled_for, one_shot)
    SELECT id, 'plan-noop', 0, 1, true, now() - interval '1 minute', true FROM j
  `.execute(o.db);
  const runnerId = await registerRunner(o, { types: ['plan-noop'], capacity: 500 });

  for (const mode of ['generic', 'custom'] as const) {
    const claimPlan = await explain(`claim_${mode}`, claimOf200(runnerId), mode);
    // It claimed the 200 (the top node's actual rows; PostgreSQL 18 prints them as 200.00).
    expect(claimPlan.split('\n')[0], mode).toMatch(/actual time=\S+ rows=200(\.00)? /);
    expect(claimPlan, mode).not.toContain('jobs_status');
    expect(rowsDiscarded(claimPlan), mode).toBeLessThan(200);
  }

  // 200 running under this runner, and a report of all of them.
  const claimed = await claim(o, runnerId, { max: 200 });
  expect(claimed).toHaveLength(200);
  for (const mode of ['generic', 'custom'] as const) {
    const reportPlan = await explain(
      `report_${mode}`,
      reportOf(
        runnerId,
        claimed.map((e) => e.id),
      ),
      mode,
    );
    expect(reportPlan, mode).not.toContain('jobs_status');
    // A semi-join comparing each running execution with each reported id discards 199 × 200 rows.
    expect(rowsDiscarded(reportPlan), mode).toBeLessThan(6_000);
  }
});

/** The most rows any node of the plan produced (its actual rows, per loop). */
const mostRowsOfANode = (plan: string) =>
  Math.max(0, ...[...plan.matchAll(/actual time=\S+ rows=(\d+)/g)].map((m) => Number(m[1])));

test("a claim's first statement probes the backlogs of a limited queue and of an open one, it does not read them", async () => {
  // Plans made while the limited queue is empty; 5,000 of its jobs due when they run, beside the 4,800 `plan-noop`
  // jobs the test above left due in the default queue. The runner serves both types in every queue: the statement
  // probes the limited queue for due work, and the open lane (plan-noop, default) for due work, each in a few index
  // entries. Both probes once read every due execution of the runner's types (issue 14's leftovers).
  const res = await o.app.inject({
    method: 'PUT',
    url: '/queues/plan-limited',
    payload: { concurrency: 50 },
  });
  expect(res.statusCode, res.body).toBe(200);
  const start = claimStartStatement({ types: ['plan-limited', 'plan-noop'], queues: null });
  for (const mode of ['generic', 'custom'] as const) await prepare(`start_${mode}`, start, mode);
  await sql`
    WITH j AS (
      INSERT INTO jobs (type, queue, run_at)
      SELECT 'plan-limited', 'plan-limited', now() FROM generate_series(1, 5000) RETURNING id
    )
    INSERT INTO executions (job_id, job_type, queue, priority, attempt, ready, scheduled_for, one_shot)
    SELECT id, 'plan-limited', 'plan-limited', 0, 1, true, now() - interval '1 minute', true FROM j
  `.execute(o.db);
  for (const mode of ['generic', 'custom'] as const) {
    const plan = await explain(`start_${mode}`, start, mode);
    expect(mostRowsOfANode(plan), mode).toBeLessThan(100);
    expect(rowsDiscarded(plan), mode).toBeLessThan(100);
  }
  const { rows } = await client.query<{ limited: string[]; open_due: boolean }>(
    `EXECUTE start_generic(${literals(start.compile(o.db).parameters)})`,
  );
  expect(rows[0]).toMatchObject({ limited: ['plan-limited'], open_due: true });
});
