import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import { lockOpenExecutions } from './cancel-job.js';
import type { JobRow } from './rows.js';

export type LifecycleResult =
  | { kind: 'not_found' }
  | { kind: 'refused'; reason: string }
  | { kind: 'ok'; job: JobRow };

async function lockJob(trx: Db, jobId: number): Promise<JobRow | undefined> {
  await lockOpenExecutions(trx, jobId); // executions before jobs, as everywhere (see cancel-job.ts)
  const { rows } = await sql<JobRow>`SELECT * FROM jobs WHERE id = ${jobId} FOR UPDATE`.execute(trx);
  return rows[0];
}

/**
 * Pauses a recurring job: no new occurrences, and its occurrences not yet started are cancelled; one already
 * running finishes. Pausing a paused job is a no-op.
 */
export async function pauseJob(trx: Db, jobId: number): Promise<LifecycleResult> {
  const job = await lockJob(trx, jobId);
  if (!job) return { kind: 'not_found' };
  if (job.kind === 'once')
    return { kind: 'refused', reason: 'only recurring jobs can be paused; cancel it instead' };
  if (job.status === 'CANCELLED') return { kind: 'refused', reason: 'the job is cancelled' };
  await sql`
    UPDATE executions SET status = 'CANCELLED', finished_at = now(), error = 'job paused'
    WHERE job_id = ${jobId} AND status = 'PENDING'
  `.execute(trx);
  await sql`UPDATE occurrences SET status = 'SKIPPED', reason = 'job paused' WHERE job_id = ${jobId} AND status = 'QUEUED'`.execute(
    trx,
  );
  const { rows } = await sql<JobRow>`
    UPDATE jobs SET status = 'PAUSED', next_run_at = NULL, updated_at = now() WHERE id = ${jobId} RETURNING *
  `.execute(trx);
  return { kind: 'ok', job: rows[0]! };
}

/**
 * Resumes a paused job from its next occurrence after now (`nextRunAt`, computed by the caller from the
 * schedule): occurrences that fell during the pause are not run, so resuming never fires a storm.
 */
export async function resumeJob(trx: Db, jobId: number, nextRunAt: (job: JobRow, now: Date) => Date | null) {
  const job = await lockJob(trx, jobId);
  if (!job) return { kind: 'not_found' } as const;
  if (job.status !== 'PAUSED')
    return { kind: 'refused', reason: `the job is ${job.status}, not PAUSED` } as const;
  const now = (await sql<{ now: Date }>`SELECT now() AS now`.execute(trx)).rows[0]!.now;
  const { rows } = await sql<JobRow>`
    UPDATE jobs SET status = 'SCHEDULED', next_run_at = ${nextRunAt(job, now)?.toISOString() ?? null}::timestamptz,
                    updated_at = now()
    WHERE id = ${jobId} RETURNING *
  `.execute(trx);
  return { kind: 'ok', job: rows[0]! } as const;
}

export interface ScheduleChange {
  kind: 'cron' | 'interval';
  schedule_expression: string | null;
  timezone: string | null;
  interval_seconds: number | null;
  overlap_policy: string;
  catch_up_policy: string;
}

/**
 * Changes a recurring job's schedule or policies and recomputes its next occurrence from now (`plan` gets the
 * database's now() and returns the new first run, which also anchors an interval).
 */
export async function rescheduleJob(
  trx: Db,
  jobId: number,
  plan: (job: JobRow, now: Date) => { change: ScheduleChange; runAt: Date; nextRunAt: Date | null },
): Promise<LifecycleResult> {
  const job = await lockJob(trx, jobId);
  if (!job) return { kind: 'not_found' };
  if (job.kind === 'once')
    return { kind: 'refused', reason: 'only recurring jobs have a schedule to change' };
  if (job.status === 'CANCELLED') return { kind: 'refused', reason: 'the job is cancelled' };
  const now = (await sql<{ now: Date }>`SELECT now() AS now`.execute(trx)).rows[0]!.now;
  const { change, runAt, nextRunAt } = plan(job, now);
  const { rows } = await sql<JobRow>`
    UPDATE jobs
    SET kind = ${change.kind}, schedule_expression = ${change.schedule_expression}, timezone = ${change.timezone},
        interval_seconds = ${change.interval_seconds}, overlap_policy = ${change.overlap_policy},
        catch_up_policy = ${change.catch_up_policy}, run_at = ${runAt.toISOString()}::timestamptz,
        -- A paused job stays paused; it picks the new schedule up when resumed.
        next_run_at = CASE WHEN status = 'PAUSED' THEN NULL ELSE ${nextRunAt?.toISOString() ?? null}::timestamptz END,
        updated_at = now()
    WHERE id = ${jobId}
    RETURNING *
  `.execute(trx);
  return { kind: 'ok', job: rows[0]! };
}
