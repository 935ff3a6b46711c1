import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import { outboxInsert } from './record-events.js';
import type { FinishedExecutionRow } from './rows.js';
import { atOrNow } from './timing.js';

/**
 * Marks RUNNING executions whose lease has expired (runner crashed, partitioned or hung) as TIMED_OUT, a batch
 * at a time. SKIP LOCKED lets every orchestrator replica run the reaper at once without waiting on each other;
 * the status guard makes a row reaped once. Returns the rows, for retryOrDeadLetter in the same transaction.
 */

export async function reapExpiredLeases(
  trx: Db,
  batch: number,
  at: Date | null = null,
): Promise<(FinishedExecutionRow & { job_id: number })[]> {
  const now = atOrNow(at);
  const { rows } = await sql<FinishedExecutionRow & { job_id: number }>`
    WITH expired AS (
      SELECT id FROM executions
      WHERE status = 'RUNNING' AND lease_expires_at < ${now}
      ORDER BY lease_expires_at
      LIMIT ${batch}
      FOR UPDATE SKIP LOCKED
    ),
    reaped AS (
      UPDATE executions e
      SET status = 'TIMED_OUT', finished_at = ${now}, lease_expires_at = NULL,
          error = 'lease expired: runner ' || coalesce(e.runner_id::text, '?') || ' stopped heartbeating'
      FROM expired WHERE e.id = expired.id
      RETURNING e.id, e.job_id, e.job_type, e.status, e.created_at, e.claimed_at, e.started_at, e.finished_at,
                e.runner_id, e.attempt, e.error
    ),
    reaped_events AS (
      ${outboxInsert(sql`
        SELECT 'execution.timed_out', ${now}, job_id, id, runner_id, job_type,
               jsonb_build_object('status', status, 'attempt', attempt, 'error', error)
        FROM reaped
      `)}
    )
    SELECT id, job_id, job_type, status, created_at, claimed_at, started_at, finished_at FROM reaped
  `.execute(trx);
  return rows;
}
