import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import { outboxInsert } from './record-events.js';
import { giveBack } from './release-executions.js';
import { atOrNow } from './timing.js';

/**
 * Marks a runner OFFLINE on graceful shutdown and settles what is still RUNNING under it:
 * - executions it says it started (`started`, or all of them when it does not say) fail at once, and the
 *   caller schedules their retries through retryOrDeadLetter, rather than waiting for the leases to expire;
 * - the others were claimed for it but never reached it (a long-poll answer cut off by its shutdown): they go
 *   back to PENDING, same attempt, since no handler ran (or are cancelled, if their job was: see giveBack).
 * Returns null when the runner is unknown, else the ids of the executions it abandoned.
 */
export async function deregisterRunner(
  trx: Db,
  runnerId: string,
  started: number[] | undefined,
  at: Date | null = null,
): Promise<{ abandoned: number[]; abandonedJobs: number[]; released: number[] } | null> {
  const now = atOrNow(at);
  const { rows } = await sql<{ id: number }>`
    WITH gone AS (UPDATE runners SET status = 'OFFLINE' WHERE id = ${runnerId} RETURNING id),
    gone_events AS (
      ${outboxInsert(sql`
        SELECT 'runner.offline', ${now}, NULL, NULL, id, NULL, jsonb_build_object('reason', 'deregistered') FROM gone
      `)}
    )
    SELECT id FROM gone
  `.execute(trx);
  if (rows.length === 0) return null;
  const released = started
    ? await sql<{ id: number }>`
        UPDATE executions e SET ${giveBack(at)}
        WHERE e.runner_id = ${runnerId} AND e.status = 'RUNNING' AND NOT (e.id = ANY(${started}::bigint[]))
        RETURNING e.id
      `.execute(trx)
    : { rows: [] };
  const abandoned = await sql<{ id: number; job_id: number }>`
    WITH abandoned AS (
      UPDATE executions
      SET status = 'FAILED', finished_at = ${now}, lease_expires_at = NULL,
          error = 'runner deregistered while the execution was running'
      WHERE runner_id = ${runnerId} AND status = 'RUNNING'
      RETURNING id, job_id, job_type, attempt, error
    ),
    abandoned_events AS (
      ${outboxInsert(sql`
        SELECT 'execution.failed', ${now}, job_id, id, ${runnerId}::text, job_type,
               jsonb_build_object('status', 'FAILED', 'attempt', attempt, 'error', error)
        FROM abandoned
      `)}
    )
    SELECT id, job_id FROM abandoned
  `.execute(trx);
  return {
    abandoned: abandoned.rows.map((r) => r.id),
    abandonedJobs: abandoned.rows.map((r) => r.job_id),
    released: released.rows.map((r) => r.id),
  };
}
