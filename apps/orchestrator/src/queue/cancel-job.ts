import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import { outboxInsert } from './record-events.js';
import { atOrNow } from './timing.js';

/**
 * What cancelling or pausing a job does to its waiting work: PENDING executions become CANCELLED at once (with an
 * event each), occurrences queued behind a running one (overlap `queue`) are skipped, and no next run is planned.
 * `reason` is the executions' error and the occurrences' reason ('job cancelled', 'job paused').
 */
export async function stopWaitingWork(
  trx: Db,
  jobId: number,
  reason: string,
  at: Date | null,
): Promise<void> {
  await sql`
    WITH cancelled AS (
      UPDATE executions SET status = 'CANCELLED', finished_at = ${atOrNow(at)}, error = ${reason}
      WHERE job_id = ${jobId} AND status = 'PENDING'
      RETURNING id, job_id, job_type, attempt, error
    )
    ${outboxInsert(sql`
      SELECT 'execution.cancelled', ${atOrNow(at)}, job_id, id, NULL, job_type,
             jsonb_build_object('status', 'CANCELLED', 'attempt', attempt, 'error', error)
      FROM cancelled
    `)}
  `.execute(trx);
  await sql`UPDATE jobs SET next_run_at = NULL WHERE id = ${jobId}`.execute(trx);
  await sql`
    UPDATE occurrences SET status = 'SKIPPED', reason = ${reason} WHERE job_id = ${jobId} AND status = 'QUEUED'
  `.execute(trx);
}

/**
 * What cancelling a job does to its work (the lifecycle decided it may, and sets the job's status): its waiting
 * work is stopped (stopWaitingWork); RUNNING executions are flagged, and their runner is told to abort in its next
 * heartbeat answer (its report then records the outcome; no retry follows because the job is CANCELLED).
 * Returns the flagged executions.
 */
export async function cancelJobWork(trx: Db, jobId: number, at: Date | null): Promise<number[]> {
  await stopWaitingWork(trx, jobId, 'job cancelled', at);
  const running = await sql<{ id: number }>`
    UPDATE executions SET cancel_requested = true
    WHERE job_id = ${jobId} AND status = 'RUNNING'
    RETURNING id
  `.execute(trx);
  return running.rows.map((r) => r.id);
}
