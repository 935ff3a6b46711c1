import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import { prepared } from '../db/prepared.js';
import { isoTime, outboxInsert } from './record-events.js';
import type { JobRow } from './rows.js';
import { atOrNow, READY_HORIZON_MS } from './timing.js';

export interface NewJob {
  type: string;
  payload: unknown;
  priority: number;
  max_attempts: number;
  backoff_initial_ms: number;
  backoff_factor: number;
  backoff_max_ms: number;
  backoff_jitter: boolean;
  timeout_ms: number | null;
  /** Absolute due time, or null to use `${now} + delay_ms` on the database's clock. */
  run_at: string | null;
  delay_ms: number;
  idempotency_key: string | null;
  kind: 'once' | 'cron' | 'interval';
  schedule_expression: string | null;
  timezone: string | null;
  interval_seconds: number | null;
  overlap_policy: string;
  catch_up_policy: string;
  retention_seconds: number | null;
  keep_forever: boolean;
  /** Where to POST the job once it is final (completion callback), or null. */
  callback_url: string | null;
  queue: string;
  concurrency_key: string | null;
  /** The unique key (with its window's bucket), and the statuses it holds in; null without one. */
  unique_key: string | null;
  unique_states: string[] | null;
  /** Jobs with parents, or in a flow (see insertJobs): their preallocated id and where the graph puts them. */
  graph?: JobInGraph;
}

/**
 * A one-shot job of `type` with every setting at its default (as POST /jobs without options), for code that creates
 * jobs through the lifecycle directly: the stepped test lifecycle and the benchmark's writes scenario.
 */
export function oneShotJob(type: string, fields: Partial<NewJob> = {}): NewJob {
  return {
    type,
    payload: null,
    priority: 0,
    max_attempts: 3,
    backoff_initial_ms: 5_000,
    backoff_factor: 2,
    backoff_max_ms: 60_000,
    backoff_jitter: false,
    timeout_ms: null,
    run_at: null,
    delay_ms: 0,
    idempotency_key: null,
    kind: 'once',
    schedule_expression: null,
    timezone: null,
    interval_seconds: null,
    overlap_policy: 'allow',
    catch_up_policy: 'fire_once',
    retention_seconds: null,
    keep_forever: false,
    callback_url: null,
    queue: 'default',
    concurrency_key: null,
    unique_key: null,
    unique_states: null,
    ...fields,
  };
}

export interface JobInGraph {
  id: number;
  /** WAITING until its parents settle; CANCELLED when one had already failed (onParentFailure cancel). */
  status: 'WAITING' | 'SCHEDULED' | 'CANCELLED';
  parent_count: number;
  waiting_parents: number;
  on_parent_failure: 'cancel' | 'run' | null;
  flow_id: number | null;
  flow_ref: string | null;
  /** Another job of the same insert depends on it. */
  has_dependents: boolean;
}

/** An edge: `job_id` waits for `parent_id`; `settled` when the parent's outcome is already counted. */
export interface NewEdge {
  job_id: number;
  parent_id: number;
  settled: boolean;
}

/**
 * Inserts jobs, their first executions and their `job.created` events in one statement. A job whose idempotency key already exists is
 * skipped (ON CONFLICT DO NOTHING, also across concurrent requests); the caller looks those up by key.
 */
export async function insertJobs(
  db: Db,
  jobs: NewJob[],
  at: Date | null = null,
  edges: NewEdge[] = [],
): Promise<JobRow[]> {
  const now = atOrNow(at);
  // Jobs in a graph (flows, issue 14) come with their ids, status and counters decided by the lifecycle, and their
  // edges are written by the same statement; other creates keep the statement they always had.
  const graph = jobs.some((j) => j.graph);
  const input = graph
    ? jobs.map((j, ord) => ({ ...j, ...j.graph, graph: undefined, ord }))
    : jobs.map((j, ord) => ({ ...j, ord }));
  const graphColumns = graph
    ? sql`, id bigint, status text, parent_count int, waiting_parents int, on_parent_failure text, flow_id bigint,
          flow_ref text, has_dependents boolean`
    : sql``;
  const graphInsert = graph
    ? sql`id, status, finished_at, parent_count, waiting_parents, on_parent_failure, flow_id, flow_ref, has_dependents,`
    : sql``;
  const graphValues = graph
    ? sql`id, status, CASE WHEN status = 'CANCELLED' THEN ${now} END, parent_count, waiting_parents, on_parent_failure,
          flow_id, flow_ref, has_dependents,`
    : sql``;
  const { rows } = await prepared(
    db,
    sql<JobRow>`
    WITH input AS (
      SELECT * FROM jsonb_to_recordset(${JSON.stringify(input)}::jsonb) AS x(
        type text, payload jsonb, priority int, max_attempts int, backoff_initial_ms int,
        backoff_factor double precision, backoff_max_ms int, backoff_jitter boolean, timeout_ms int,
        run_at timestamptz, delay_ms bigint, idempotency_key text, kind text, schedule_expression text,
        timezone text, interval_seconds int, overlap_policy text, catch_up_policy text, retention_seconds bigint,
        keep_forever boolean, callback_url text, queue text, concurrency_key text, unique_key text,
        unique_states text[], ord int ${graphColumns})
    ),
    new_jobs AS (
      INSERT INTO jobs (${graphInsert} type, payload, priority, max_attempts, backoff_initial_ms, backoff_factor,
                        backoff_max_ms, backoff_jitter, timeout_ms, run_at, idempotency_key, kind,
                        schedule_expression, timezone, interval_seconds, overlap_policy, catch_up_policy, next_run_at,
                        retention_seconds, keep_forever, callback_url, queue, concurrency_key, unique_key,
                        unique_states)
      ${graph ? sql`OVERRIDING SYSTEM VALUE` : sql``}
      SELECT ${graphValues} type, coalesce(payload, 'null'::jsonb), priority, max_attempts, backoff_initial_ms, backoff_factor,
             backoff_max_ms, backoff_jitter, timeout_ms,
             coalesce(run_at, ${now} + delay_ms * interval '1 millisecond'), idempotency_key, kind,
             schedule_expression, timezone, interval_seconds, overlap_policy, catch_up_policy,
             -- A recurring job's first occurrence is created by the scheduler when due, like every later one.
             CASE WHEN kind <> 'once' THEN coalesce(run_at, ${now} + delay_ms * interval '1 millisecond') END,
             retention_seconds, keep_forever, callback_url, queue, concurrency_key, unique_key, unique_states
      FROM input ORDER BY ord
      -- No conflict target: a job whose idempotency key exists, or whose unique key is held (jobs_unique_key), is
      -- skipped; the caller looks those up.
      ON CONFLICT DO NOTHING
      RETURNING *
    ),
    first_executions AS (
      INSERT INTO executions (job_id, job_type, priority, attempt, ready, scheduled_for, one_shot, queue,
                              concurrency_key)
      SELECT id, type, priority, 1, run_at <= ${now} + ${READY_HORIZON_MS} * interval '1 millisecond', run_at, true,
             queue, coalesce(concurrency_key, '')
      -- A WAITING job gets its first execution when its parents release it (settle-dependents.ts).
      FROM new_jobs WHERE kind = 'once' AND status = 'SCHEDULED'
    ),
    ${graph ? newEdges(edges) : sql``}
    -- Every queue a job names has a row (GET /queues lists them); an existing one is left as it is.
    known_queues AS (
      INSERT INTO queues (name) SELECT DISTINCT queue FROM input ON CONFLICT DO NOTHING
    ),
    created_events AS (
      ${outboxInsert(sql`
        SELECT 'job.created', ${now}, id, NULL, NULL, type,
               jsonb_build_object('status', status, 'kind', kind, 'runAt', ${isoTime(sql`run_at`)}, 'priority', priority)
        FROM new_jobs
        -- A job created CANCELLED (a parent had already failed, flows) announces its cancel like one cancelled later.
        UNION ALL
        SELECT 'job.cancelled', ${now}, id, NULL, NULL, type,
               jsonb_build_object('from', NULL, 'status', 'CANCELLED', 'reason', 'a parent failed or was cancelled')
        FROM new_jobs WHERE status = 'CANCELLED'
      `)}
    )
    SELECT * FROM new_jobs ORDER BY id
  `,
  );
  return rows;
}

/** The edges of the jobs inserted (one skipped for its idempotency key keeps the edges it already has). */
const newEdges = (edges: NewEdge[]) => sql`
    new_edges AS (
      INSERT INTO job_dependencies (job_id, parent_id, settled)
      SELECT x.job_id, x.parent_id, x.settled
      FROM jsonb_to_recordset(${JSON.stringify(edges)}::jsonb) AS x(job_id bigint, parent_id bigint, settled boolean)
      WHERE x.job_id IN (SELECT id FROM new_jobs)
    ),`;
