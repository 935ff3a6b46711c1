import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import { stopWaitingWork } from './cancel-job.js';
import type { JobRow } from './rows.js';
import { atOrNow } from './timing.js';

/**
 * What pausing a recurring job does to its work (the lifecycle sets the status): no new occurrences, and its
 * occurrences not yet started are cancelled; one already running finishes.
 */
export function pauseJobWork(trx: Db, jobId: number, at: Date | null): Promise<void> {
  return stopWaitingWork(trx, jobId, 'job paused', at);
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
