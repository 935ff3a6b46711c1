import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import { OUTBOX } from './record-events.js';
import type { JobRow } from './rows.js';
import { atOrNow } from './timing.js';

/**
 * What pausing a recurring job does to its work (the lifecycle sets the status): no new occurrences, and its
 * occurrences not yet started are cancelled; one already running finishes.
 */
export async function pauseJobWork(trx: Db, jobId: number, at: Date | null): Promise<void> {
  await sql`
    WITH cancelled AS (
      UPDATE executions SET status = 'CANCELLED', finished_at = ${atOrNow(at)}, error = 'job paused'
      WHERE job_id = ${jobId} AND status = 'PENDING'
      RETURNING id, job_id, job_type, attempt, error
    )
    INSERT INTO ${OUTBOX}
    SELECT 'execution.cancelled', ${atOrNow(at)}, job_id, id, NULL, job_type,
           jsonb_build_object('status', 'CANCELLED', 'attempt', attempt, 'error', error)
    FROM cancelled
  `.execute(trx);
  await sql`UPDATE occurrences SET status = 'SKIPPED', reason = 'job paused' WHERE job_id = ${jobId} AND status = 'QUEUED'`.execute(
    trx,
  );
  await sql`UPDATE jobs SET next_run_at = NULL WHERE id = ${jobId}`.execute(trx);
}

/** A resumed job's next occurrence (computed by the lifecycle from its schedule and the database's now). */
export async function setNextRun(trx: Db, jobId: number, nextRunAt: Date | null): Promise<void> {
  await sql`
    UPDATE jobs SET next_run_at = ${nextRunAt?.toISOString() ?? null}::timestamptz WHERE id = ${jobId}
  `.execute(trx);
}

export interface ScheduleChange {
  kind: 'cron' | 'interval';
  schedule_expression: string | null;
  timezone: string | null;
  interval_seconds: number | null;
  overlap_policy: JobRow['overlap_policy'];
  catch_up_policy: JobRow['catch_up_policy'];
  /** The first run of the new schedule (also an interval's anchor) and the next occurrence (null while paused). */
  run_at: Date;
  next_run_at: Date | null;
}

/** Stores a recurring job's new schedule or policies. */
export async function updateSchedule(
  trx: Db,
  jobId: number,
  change: ScheduleChange,
  at: Date | null,
): Promise<JobRow> {
  const { rows } = await sql<JobRow>`
    UPDATE jobs
    SET kind = ${change.kind}, schedule_expression = ${change.schedule_expression}, timezone = ${change.timezone},
        interval_seconds = ${change.interval_seconds}, overlap_policy = ${change.overlap_policy},
        catch_up_policy = ${change.catch_up_policy}, run_at = ${change.run_at.toISOString()}::timestamptz,
        next_run_at = ${change.next_run_at?.toISOString() ?? null}::timestamptz, updated_at = ${atOrNow(at)}
    WHERE id = ${jobId}
    RETURNING *
  `.execute(trx);
  return rows[0]!;
}
