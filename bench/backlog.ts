import { cleanKind, createDatabase, DEFAULT_RETENTION, JobLifecycle } from '@hourglass/orchestrator';
import type pg from 'pg';
import { ApiClient } from './http.js';
import { runLatency } from './latency.js';
import type { Stack } from './stack.js';
import { type LatencySummary, summarize } from './stats.js';
import { runThroughput, throughputRun } from './throughput.js';

/**
 * `pnpm bench --scenario backlog` (issue 12): does Hourglass's cost follow the live work rather than its age? The
 * database is loaded, set-based (generate_series, no HTTP), with `history` finished jobs (one SUCCEEDED execution
 * each, finished 8-9 days ago: expired under the default 7-day retention, which the benchmark's orchestrator sets
 * to 30 days so that nothing is cleaned before it says so), `future` jobs scheduled over the next days, `unserved`
 * due jobs of a type no runner serves, and some dead letters. Then it measures, on that database:
 * - throughput of the usual noop run (compared by the caller with the same run on an empty database);
 * - read latencies: GET /jobs (first page, a deep cursor page), GET /jobs/{id}/executions, GET /dead-letters,
 *   GET /metrics;
 * - the cleaner deleting the expired history (the cleaner loop's statements and pacing, from here, with a 7-day
 *   retention): rows per second, and enqueue→start latency while it deletes against the same measure with it
 *   stopped, in alternating rounds;
 * - table and index sizes: loaded, after cleaning, after a plain VACUUM (what autovacuum does) and after another
 *   throughput run (freed space reused: the tables do not grow back).
 */

export interface BacklogSizes {
  history: number;
  future: number;
  unserved: number;
  deadLetters: number;
}

export const BACKLOG_ORCHESTRATOR_ENV = {
  // Nothing is cleaned by the orchestrator while the benchmark measures the backlog; the cleaning is measured
  // separately, with the statements of the cleaner loop.
  RETENTION_SUCCEEDED_SECONDS: String(30 * 86_400),
};

/** Loads the backlog into the stack's database and analyses it. */
export async function seedBacklog(db: pg.Pool, n: BacklogSizes): Promise<void> {
  await db.query(`
    INSERT INTO jobs (type, payload, status, run_at, created_at, updated_at, finished_at, kind)
    SELECT 'history', '{"n": 1}'::jsonb, 'SUCCEEDED', t, t, t, t + interval '1 second', 'once'
    FROM (SELECT now() - interval '9 days' + g * (interval '1 day' / ${n.history}) AS t
          FROM generate_series(1, ${n.history}) g) s`);
  await db.query(`
    INSERT INTO executions (job_id, job_type, priority, attempt, status, ready, scheduled_for, created_at,
                            claimed_at, started_at, finished_at, one_shot, result)
    SELECT id, type, 0, 1, 'SUCCEEDED', true, run_at, created_at, run_at, run_at, finished_at, true, '{"ok": true}'
    FROM jobs WHERE type = 'history'`);
  await db.query(`
    INSERT INTO jobs (type, payload, status, run_at, kind)
    SELECT 'future', '{"n": 1}'::jsonb, 'SCHEDULED', now() + interval '1 day' + g * interval '1 second', 'once'
    FROM generate_series(1, ${n.future}) g`);
  await db.query(`
    INSERT INTO executions (job_id, job_type, priority, attempt, ready, scheduled_for, one_shot)
    SELECT id, type, 0, 1, false, run_at, true FROM jobs WHERE type = 'future'`);
  await db.query(`
    INSERT INTO jobs (type, payload, status, run_at, kind)
    SELECT 'unserved', '{"n": 1}'::jsonb, 'SCHEDULED', now() - interval '1 minute', 'once'
    FROM generate_series(1, ${n.unserved}) g`);
  await db.query(`
    INSERT INTO executions (job_id, job_type, priority, attempt, ready, scheduled_for, one_shot)
    SELECT id, type, 0, 1, true, run_at, true FROM jobs WHERE type = 'unserved'`);
  await db.query(`
    WITH failed AS (
      INSERT INTO jobs (type, payload, status, run_at, finished_at, kind)
      SELECT 'broken', '{}'::jsonb, 'FAILED', now() - interval '1 hour', now() - interval '1 hour', 'once'
      FROM generate_series(1, ${n.deadLetters}) g
      RETURNING id, type, run_at
    ), runs AS (
      INSERT INTO executions (job_id, job_type, priority, attempt, status, ready, scheduled_for, finished_at,
                              one_shot, error)
      SELECT id, type, 0, 3, 'FAILED', true, run_at, run_at, true, 'boom' FROM failed
      RETURNING id, job_id, job_type
    )
    INSERT INTO dead_letters (job_id, execution_id, job_type, attempts, error)
    SELECT job_id, id, job_type, 3, 'boom' FROM runs`);
  await db.query('VACUUM ANALYZE jobs, executions, dead_letters');
}

export interface TableSizes {
  jobs: number;
  executions: number;
  /** Both tables with their indexes, in bytes. */
  total: number;
}

export async function tableSizes(db: pg.Pool): Promise<TableSizes> {
  const { rows } = await db.query<{ jobs: string; executions: string }>(
    `SELECT pg_total_relation_size('jobs') AS jobs, pg_total_relation_size('executions') AS executions`,
  );
  const jobs = Number(rows[0]!.jobs);
  const executions = Number(rows[0]!.executions);
  return { jobs, executions, total: jobs + executions };
}

/** Sequential GETs of each read route; latency per request as the client sees it. */
export async function measureReads(stack: Stack, requests: number): Promise<Record<string, LatencySummary>> {
  const api = new ApiClient(stack.url, 1);
  try {
    const { rows } = await stack.db.query<{ mid: number; history: number }>(
      `SELECT (SELECT id FROM jobs WHERE type = 'history' ORDER BY id OFFSET (SELECT count(*) / 2 FROM jobs
                 WHERE type = 'history') LIMIT 1)::float8 AS mid,
              (SELECT min(id) FROM jobs WHERE type = 'history')::float8 AS history`,
    );
    const { mid, history } = rows[0]!;
    const routes: Record<string, string> = {
      'GET /jobs (first page)': '/jobs?limit=50',
      'GET /jobs (deep cursor page)': `/jobs?limit=50&cursor=${mid}`,
      'GET /jobs?status=SUCCEEDED': '/jobs?status=SUCCEEDED&limit=50',
      'GET /jobs/{id}/executions': `/jobs/${history}/executions`,
      'GET /dead-letters': '/dead-letters?limit=50',
      'GET /metrics': '/metrics',
    };
    const out: Record<string, LatencySummary> = {};
    for (const [label, path] of Object.entries(routes)) {
      const samples: number[] = [];
      for (let i = 0; i < requests; i++) {
        const t = performance.now();
        if (path === '/metrics') await api.text(path);
        else await api.get(path);
        samples.push(performance.now() - t);
      }
      out[label] = summarize(samples);
    }
    return out;
  } finally {
    await api.close();
  }
}

export interface CleaningResult {
  deleted: number;
  /** Seconds the cleaner was at work (its rounds), and its rate over them. */
  seconds: number;
  rowsPerSecond: number;
  /** Enqueue → handler start in the rounds with the cleaner stopped, and in those while it deleted. */
  idle: LatencySummary;
  during: LatencySummary;
}

/** Latency rounds per cycle: ON_ROUNDS with the cleaner deleting, then one with it stopped. */
const ON_ROUNDS = 2;

/**
 * Deletes the expired history as the cleaner loop does (cleanKind: its batches and its rests between them) while
 * single jobs are created and run, in rounds of `latency.samples` jobs. The cleaner works through ON_ROUNDS
 * rounds, then stops for one, and so on until nothing has expired: `idle` and `during` are sampled the same way,
 * over the same minutes, so what the machine does besides (another process, a checkpoint) weighs on both alike.
 * A p99 of a short idle window taken before the deletion against one of the whole deletion compared a quiet
 * moment with minutes of everything else.
 */
export async function measureCleaning(
  stack: Stack,
  dbUrl: string,
  latency: { samples: number; rate: number; timeoutMs: number },
  batch: number,
): Promise<CleaningResult> {
  const handle = createDatabase(dbUrl, { max: 2, applicationName: 'hourglass-bench-cleaner' });
  const lifecycle = new JobLifecycle(handle.db);
  // The default retention: the seeded history finished 8-9 days ago, past the 7 days of SUCCEEDED.
  const retention = DEFAULT_RETENTION;
  const roundMs = (latency.samples / latency.rate) * 1000;
  try {
    let deleted = 0;
    let working = 0;
    let done = false;
    const idle: number[] = [];
    const during: number[] = [];
    for (let round = 0; !done; round++) {
      if (round % (ON_ROUNDS + 1) === ON_ROUNDS) {
        idle.push(...(await runLatency(stack, latency)).samples);
        continue;
      }
      const started = performance.now();
      // cleanKind stops after the batch that passes `until`, or at once when fewer than a batch had expired.
      const cleaning = cleanKind(lifecycle, 'jobs', retention, batch, started + roundMs).then((n) => {
        working += performance.now() - started;
        deleted += n;
        done = performance.now() < started + roundMs;
      });
      during.push(...(await runLatency(stack, latency)).samples);
      await cleaning;
    }
    const seconds = working / 1000;
    return {
      deleted,
      seconds,
      rowsPerSecond: deleted / seconds,
      idle: summarize(idle),
      during: summarize(during),
    };
  } finally {
    await handle.destroy();
  }
}

/** Throughput on the backlog database: only the run's own noop jobs count (executions after `since`). */
export async function throughputOnBacklog(stack: Stack, jobs: number, timeoutMs: number) {
  const { rows } = await stack.db.query<{ since: number }>(
    'SELECT coalesce(max(id), 0)::float8 AS since FROM executions',
  );
  return runThroughput(stack, throughputRun(jobs, timeoutMs, rows[0]!.since));
}
