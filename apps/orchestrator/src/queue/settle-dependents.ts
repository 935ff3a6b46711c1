import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import { callbackCtes, outboxInsert } from './record-events.js';
import { atOrNow, READY_HORIZON_MS } from './timing.js';

export interface SettledRow {
  /** `released`: a WAITING job's first execution; `cancelled`: a WAITING job cancelled; `callback`: a delivery. */
  kind: 'released' | 'cancelled' | 'callback';
  job_id: number;
  execution_id: number | null;
  scheduled_for: Date | null;
  ready: boolean | null;
  /** For `cancelled`: the job has dependents of its own, to settle in turn. */
  has_dependents: boolean;
}

/**
 * What the end of parents does to their waiting dependents (flows, issue 14), set-based, in the transaction that
 * ended them (a report, a dead letter, a cancel), so that a dependent is released exactly when the last parent's end
 * commits:
 * - `succeeded` parents settle their edges; a dependent whose last unsettled edge this was is released: WAITING →
 *   SCHEDULED with its first execution, due at the later of now and its runAt (`job.released`);
 * - `failed` parents (FAILED or CANCELLED) cancel their WAITING dependents with onParentFailure `cancel`, and those
 *   cancel theirs, down the graph (a recursive walk: `job.cancelled`, a completion callback where one is set); for
 *   dependents with `run`, the edge settles as after a success.
 *
 * The count of unsettled parents lives on the dependent's row (waiting_parents) and is decremented by an UPDATE of
 * that row: two parents ending at once in two transactions each wait for the other's row lock and then decrement
 * the latest value, so the second always sees the first (a NOT EXISTS over the edges would read a snapshot in which
 * neither saw the other and leave the job waiting for ever). Each edge is settled once (`settled`), so a parent that
 * ends twice (triggered again after it succeeded) does not count twice.
 *
 * Rows a concurrent create added after this statement's snapshot are not seen here; the caller runs the statement
 * again for the jobs it cancelled that have dependents (see JobLifecycle.settle).
 */
export async function settleDependents(
  trx: Db,
  succeeded: number[],
  failed: number[],
  at: Date | null = null,
): Promise<SettledRow[]> {
  if (succeeded.length === 0 && failed.length === 0) return [];
  const now = atOrNow(at);
  const { rows } = await sql<SettledRow>`
    WITH RECURSIVE doomed(id) AS (
      SELECT unnest(${failed}::bigint[])
      UNION
      SELECT d.job_id FROM doomed x
      JOIN job_dependencies d ON d.parent_id = x.id AND NOT d.settled
      JOIN jobs c ON c.id = d.job_id
      WHERE c.status = 'WAITING' AND c.on_parent_failure = 'cancel'
    ),
    cancelled AS (
      UPDATE jobs j
      SET status = 'CANCELLED', finished_at = ${now}, updated_at = ${now},
          callbacks_sent = j.callbacks_sent + CASE WHEN j.callback_url IS NOT NULL THEN 1 ELSE 0 END
      WHERE j.id IN (SELECT id FROM doomed) AND j.status = 'WAITING'
      RETURNING j.id, j.type, j.status, j.callback_url, j.callbacks_sent, j.finished_at, j.has_dependents
    ),
    settled_edges AS (
      UPDATE job_dependencies d SET settled = true
      WHERE d.parent_id IN (SELECT id FROM doomed UNION ALL SELECT unnest(${succeeded}::bigint[])) AND NOT d.settled
      RETURNING d.job_id
    ),
    -- A job of the doomed set is cancelled above; two changes of one row in one statement would keep only one.
    counts AS (
      SELECT job_id, count(*)::int AS n FROM settled_edges
      WHERE job_id NOT IN (SELECT id FROM doomed)
      GROUP BY job_id
    ),
    released AS (
      UPDATE jobs j
      SET waiting_parents = j.waiting_parents - c.n,
          status = CASE WHEN j.waiting_parents = c.n THEN 'SCHEDULED' ELSE j.status END,
          updated_at = ${now}
      FROM counts c
      WHERE j.id = c.job_id AND j.status = 'WAITING'
      RETURNING j.id, j.type, j.status, j.priority, j.run_at, j.queue, j.concurrency_key
    ),
    first_executions AS (
      INSERT INTO executions (job_id, job_type, priority, attempt, ready, scheduled_for, one_shot, queue,
                              concurrency_key)
      SELECT id, type, priority, 1, greatest(run_at, ${now}) <= ${now} + ${READY_HORIZON_MS} * interval '1 millisecond',
             greatest(run_at, ${now}), true, queue, coalesce(concurrency_key, '')
      FROM released WHERE status = 'SCHEDULED'
      RETURNING id, job_id, scheduled_for, ready
    ),
    settled_events AS (
      ${outboxInsert(sql`
        SELECT 'job.released', ${now}, r.id, NULL::bigint, NULL::text, r.type, jsonb_build_object('from', 'WAITING', 'status', 'SCHEDULED')
        FROM released r WHERE r.status = 'SCHEDULED'
        UNION ALL
        SELECT 'job.cancelled', ${now}, c.id, NULL, NULL, c.type,
               jsonb_build_object('from', 'WAITING', 'status', 'CANCELLED', 'reason', 'a parent failed or was cancelled')
        FROM cancelled c
      `)}
    ),
    final_jobs AS (
      SELECT c.id, c.type, c.status, c.callback_url, c.callbacks_sent, c.finished_at, NULL::jsonb AS result,
             'a parent failed or was cancelled'::text AS error, 0 AS attempts
      FROM cancelled c WHERE c.callback_url IS NOT NULL
    ),
    ${callbackCtes('final_jobs', now)}
    SELECT 'released' AS kind, job_id, id AS execution_id, scheduled_for, ready, false AS has_dependents
    FROM first_executions
    UNION ALL
    SELECT 'cancelled', id, NULL, NULL, NULL, has_dependents FROM cancelled
    UNION ALL
    SELECT 'callback', job_id, id, scheduled_for, true, false FROM callback_executions
  `.execute(trx);
  return rows;
}
