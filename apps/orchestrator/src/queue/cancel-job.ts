import { sql } from 'kysely';
import type { Db } from '../db/database.js';

export type CancelResult =
  | { kind: 'not_found' }
  | { kind: 'finished'; status: string }
  | { kind: 'cancelled'; alreadyCancelled: boolean; runningExecutions: number[] };

/**
 * Cancels a job: PENDING executions become CANCELLED at once; RUNNING ones are flagged, and their runner is told
 * to abort in its next heartbeat answer (its report then records the outcome; no retry follows because the job
 * is CANCELLED). A finished job cannot be cancelled.
 */
export async function cancelJob(trx: Db, jobId: number): Promise<CancelResult> {
  // Lock order everywhere is executions, then jobs (claims and completions go that way), so a cancel racing a
  // completion waits instead of deadlocking.
  await lockOpenExecutions(trx, jobId);
  const { rows } = await sql<{
    status: string;
  }>`SELECT status FROM jobs WHERE id = ${jobId} FOR UPDATE`.execute(trx);
  const job = rows[0];
  if (!job) return { kind: 'not_found' };
  if (job.status === 'SUCCEEDED' || job.status === 'FAILED') return { kind: 'finished', status: job.status };
  const alreadyCancelled = job.status === 'CANCELLED';
  await sql`
    UPDATE jobs SET status = 'CANCELLED', next_run_at = NULL, updated_at = now(),
                    finished_at = coalesce(finished_at, now())
    WHERE id = ${jobId}
  `.execute(trx);
  await sql`
    UPDATE executions SET status = 'CANCELLED', finished_at = now(), error = 'job cancelled'
    WHERE job_id = ${jobId} AND status = 'PENDING'
  `.execute(trx);
  // A recurring job's occurrences queued behind a running one (overlap `queue`) will never start now.
  await sql`
    UPDATE occurrences SET status = 'SKIPPED', reason = 'job cancelled' WHERE job_id = ${jobId} AND status = 'QUEUED'
  `.execute(trx);
  const running = await sql<{ id: number }>`
    UPDATE executions SET cancel_requested = true
    WHERE job_id = ${jobId} AND status = 'RUNNING'
    RETURNING id
  `.execute(trx);
  return { kind: 'cancelled', alreadyCancelled, runningExecutions: running.rows.map((r) => r.id) };
}

/** Locks a job's PENDING and RUNNING executions, the first step of every job-level change. */
export async function lockOpenExecutions(trx: Db, jobId: number): Promise<void> {
  await sql`
    SELECT id FROM executions WHERE job_id = ${jobId} AND status IN ('PENDING', 'RUNNING') ORDER BY id FOR UPDATE
  `.execute(trx);
}
