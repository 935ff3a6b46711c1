import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import { lockOpenExecutions } from './cancel-job.js';
import type { ExecutionRow } from './rows.js';

export type TriggerResult =
  | { kind: 'not_found' }
  | { kind: 'refused'; status: string }
  | { kind: 'triggered'; execution: ExecutionRow; newOccurrence: boolean };

/**
 * Runs a job now. A job waiting for its (first or retry) attempt has that attempt moved to now, so triggering
 * never makes a one-shot job run twice; a finished job (SUCCEEDED or FAILED) gets a new occurrence, attempt 1,
 * and is SCHEDULED again. A RUNNING or CANCELLED job is refused. A recurring job gets an extra occurrence now.
 */
export async function triggerJob(trx: Db, jobId: number): Promise<TriggerResult> {
  await lockOpenExecutions(trx, jobId); // executions before jobs, as everywhere (see cancel-job.ts)
  const { rows } = await sql<{ status: string; type: string; priority: number; kind: string }>`
    SELECT status, type, priority, kind FROM jobs WHERE id = ${jobId} FOR UPDATE
  `.execute(trx);
  const job = rows[0];
  if (!job) return { kind: 'not_found' };
  if (job.kind !== 'once') {
    // A recurring job: one extra occurrence now; the schedule and the job's status are unchanged.
    if (job.status === 'CANCELLED') return { kind: 'refused', status: job.status };
    const extra = await sql<ExecutionRow>`
      WITH occ AS (
        INSERT INTO occurrences (job_id, scheduled_for, status, reason)
        VALUES (${jobId}, now(), 'CREATED', 'triggered by hand')
        ON CONFLICT DO NOTHING
      )
      INSERT INTO executions (job_id, job_type, priority, attempt, ready, scheduled_for, occurrence_id)
      VALUES (${jobId}, ${job.type}, ${job.priority}, 1, true, now(), nextval('executions_occurrence_seq'))
      RETURNING *
    `.execute(trx);
    const execution = extra.rows[0]!;
    await sql`UPDATE occurrences SET execution_id = ${execution.id} WHERE job_id = ${jobId} AND scheduled_for = now()`.execute(
      trx,
    );
    return { kind: 'triggered', execution, newOccurrence: true };
  }
  if (job.status === 'RUNNING' || job.status === 'CANCELLED' || job.status === 'PAUSED') {
    return { kind: 'refused', status: job.status };
  }
  const moved = await sql<ExecutionRow>`
    UPDATE executions SET scheduled_for = least(scheduled_for, now()), ready = true
    WHERE job_id = ${jobId} AND status = 'PENDING'
    RETURNING *
  `.execute(trx);
  if (moved.rows[0]) return { kind: 'triggered', execution: moved.rows[0], newOccurrence: false };
  const inserted = await sql<ExecutionRow>`
    INSERT INTO executions (job_id, job_type, priority, attempt, ready, scheduled_for, one_shot, occurrence_id)
    VALUES (${jobId}, ${job.type}, ${job.priority}, 1, true, now(), true, nextval('executions_occurrence_seq'))
    RETURNING *
  `.execute(trx);
  await sql`
    UPDATE jobs SET status = 'SCHEDULED', updated_at = now(), finished_at = NULL WHERE id = ${jobId}
  `.execute(trx);
  return { kind: 'triggered', execution: inserted.rows[0]!, newOccurrence: true };
}
