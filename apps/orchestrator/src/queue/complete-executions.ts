import type { ExecutionStatus } from '@hourglass/contracts';
import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import { prepared } from '../db/prepared.js';
import { callbackCtes, isoTime, outboxInsert } from './record-events.js';
import type { FinishedExecutionRow } from './rows.js';
import { atOrNow } from './timing.js';

export interface CompletionInput {
  id: number;
  status: 'SUCCEEDED' | 'FAILED' | 'CANCELLED';
  error: string | null;
  result: unknown;
  started_at: string | null;
  /** false for a failure the runner reported as permanent; null unless FAILED. */
  retryable: boolean | null;
  error_code: string | null;
}

export interface RecordedRow extends FinishedExecutionRow {
  job_id: number;
  /** Completion callbacks the statement created (the same on every row). */
  callbacks: number;
  /** The execution ran in a queue with a concurrency limit: its end may let a waiting claim through. */
  frees_limited_slot: boolean;
  /** Jobs of the batch that SUCCEEDED and have dependents (the same on every row), or null. */
  succeeded_parents: number[] | null;
}

/**
 * Records outcomes reported by `runnerId`, set-based (River's JobSetStateIfRunningMany, graphile's
 * completeJobs): one UPDATE over the whole batch that only touches executions still RUNNING under this runner.
 * That guard is the fence: after a lease expires the row is TIMED_OUT (and its retry is a new row), so a late
 * report from the old holder matches nothing. Successful one-shot jobs become SUCCEEDED in the same statement.
 */
export async function completeExecutions(
  trx: Db,
  runnerId: string,
  outcomes: CompletionInput[],
  at: Date | null = null,
): Promise<RecordedRow[]> {
  const { rows } = await prepared(trx, completeStatement(runnerId, outcomes, at));
  return rows;
}

/** The statement completeExecutions runs (exported for the plan tests, hot-path-plans.test.ts). */
export function completeStatement(runnerId: string, outcomes: CompletionInput[], at: Date | null = null) {
  const now = atOrNow(at);
  const input = outcomes.map((o) => ({ ...o, result: o.result === undefined ? null : o.result }));
  return sql<RecordedRow>`
    WITH input AS (
      SELECT * FROM jsonb_to_recordset(${JSON.stringify(input)}::jsonb)
        AS x(id bigint, status text, error text, result jsonb, started_at timestamptz, retryable boolean,
             error_code text)
    ),
    -- Row locks in id order, as the heartbeat takes them (see heartbeat-runner.ts): updated straight from the
    -- input, the rows were locked in the order the runner sent them, and a report and a heartbeat of the same
    -- runner deadlocked (seen by pnpm chaos: PostgreSQL failed one of them, a 500).
    -- The rows are found by primary key from the reported ids; the status and runner tests are wrapped in IS TRUE so
    -- that no partial index on RUNNING rows can serve them. Written as \`e.id IN (SELECT id FROM input)\` with plain
    -- tests, the planner walked executions_running_by_runner and compared every running row with every reported id
    -- (a semi-join with a join filter: 19,900 comparisons for a report of 200, half the statement's time; issue 15).
    -- The UPDATE below takes the locked ids as an array, with its tests wrapped the same way: as \`IN (SELECT id FROM
    -- locked)\` it walked every running execution of the runner and compared each with each locked id (1,225
    -- comparisons for a report of 50 on a queue with limits; EXPLAIN ANALYZE, issue 14's leftovers).
    locked AS (
      SELECT e.id FROM executions e
      WHERE e.id = ANY(${outcomes.map((o) => o.id)}::bigint[])
        AND (e.status = 'RUNNING') IS TRUE AND (e.runner_id = ${runnerId}) IS TRUE
      ORDER BY e.id
      FOR UPDATE
    ),
    recorded AS (
      UPDATE executions e
      SET status = i.status, error = i.error, result = i.result, started_at = i.started_at,
          retryable = i.retryable, error_code = i.error_code, finished_at = ${now}, lease_expires_at = NULL
      FROM input i
      WHERE e.id = i.id AND e.id = ANY(ARRAY(SELECT id FROM locked))
        AND (e.status = 'RUNNING') IS TRUE AND (e.runner_id = ${runnerId}) IS TRUE
      RETURNING e.id, e.job_id, e.status, e.job_type, e.created_at, e.claimed_at, e.started_at, e.finished_at,
                e.attempt, e.error, e.result, e.queue
    ),
    -- A one-shot job is done; a recurring one waits for its next occurrence (RUNNING while another still runs).
    -- A one-shot job with a callback URL counts the delivery its success creates (see callbackCtes).
    succeeded_jobs AS (
      UPDATE jobs j
      SET status = CASE
            WHEN j.kind = 'once' THEN 'SUCCEEDED'
            WHEN EXISTS (SELECT 1 FROM executions e WHERE e.job_id = j.id AND e.status = 'RUNNING'
                           AND e.id NOT IN (SELECT id FROM recorded)) THEN 'RUNNING'
            ELSE 'SCHEDULED' END,
          finished_at = CASE WHEN j.kind = 'once' THEN ${now} ELSE j.finished_at END,
          callbacks_sent = j.callbacks_sent + CASE WHEN j.kind = 'once' AND j.callback_url IS NOT NULL THEN 1 ELSE 0 END,
          updated_at = ${now}
      -- By primary key (see running_jobs in claim-executions.ts for why the status test is wrapped).
      WHERE j.id = ANY(ARRAY(SELECT job_id FROM recorded WHERE status = 'SUCCEEDED'))
        AND (j.status IN ('RUNNING', 'SCHEDULED')) IS TRUE
      RETURNING j.id, j.type, j.status, j.callback_url, j.callbacks_sent, j.finished_at, j.has_dependents
    ),
    -- The report's events, one INSERT … SELECT for the batch (see record-events.ts): each execution's outcome, a
    -- webhook's delivery (timer.fired), a one-shot job's success.
    recorded_events AS (
      ${outboxInsert(sql`
        SELECT 'execution.' || lower(r.status), ${now}, r.job_id, r.id, ${runnerId}::text, r.job_type,
               jsonb_strip_nulls(jsonb_build_object('status', r.status, 'attempt', r.attempt, 'error', r.error,
                 'startedAt', ${isoTime(sql`r.started_at`)}, 'resultBytes', octet_length(r.result::text)))
        FROM recorded r
        UNION ALL
        SELECT 'timer.fired', ${now}, r.job_id, r.id, ${runnerId}::text, r.job_type, jsonb_build_object('attempt', r.attempt)
        FROM recorded r WHERE r.job_type = 'webhook' AND r.status = 'SUCCEEDED'
        UNION ALL
        SELECT 'job.succeeded', ${now}, s.id, NULL, NULL, s.type, jsonb_build_object('status', s.status)
        FROM succeeded_jobs s WHERE s.status = 'SUCCEEDED'
      `)}
    ),
    final_jobs AS (
      SELECT s.*, r.result, NULL::text AS error, r.attempt AS attempts
      FROM succeeded_jobs s JOIN recorded r ON r.job_id = s.id AND r.status = 'SUCCEEDED'
      WHERE s.callback_url IS NOT NULL
    ),
    ${callbackCtes('final_jobs', now)}
    SELECT r.id, r.job_id, r.status, r.job_type, r.created_at, r.claimed_at, r.started_at, r.finished_at,
           (SELECT count(*) FROM callback_executions)::int AS callbacks,
           -- Jobs that succeeded with dependents to settle (flows; see settle-dependents.ts), the same on every row.
           -- has_dependents comes from the row as updated, after any create that locked it to add a dependent.
           (SELECT array_agg(s.id) FROM succeeded_jobs s WHERE s.status = 'SUCCEEDED' AND s.has_dependents)
             AS succeeded_parents,
           -- A slot freed in a queue with limits: claimers waiting on it are woken (queues_special, usually empty).
           EXISTS (SELECT 1 FROM queues q WHERE q.name = r.queue
                   AND (q.concurrency IS NOT NULL OR q.per_key_concurrency IS NOT NULL)) AS frees_limited_slot
    FROM recorded r
  `;
}

export interface PriorOutcomeRow {
  id: number;
  status: ExecutionStatus;
  runner_id: string | null;
}

/** Current state of executions whose report did not apply, to tell a duplicate from a conflict. */
export async function readPriorOutcomes(trx: Db, ids: number[]): Promise<PriorOutcomeRow[]> {
  if (ids.length === 0) return [];
  const { rows } = await sql<PriorOutcomeRow>`
    SELECT id, status, runner_id FROM executions WHERE id = ANY(${ids}::bigint[])
  `.execute(trx);
  return rows;
}
