import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import type { ExecutionRow, JobRow } from './rows.js';
import { atOrNow } from './timing.js';

/** A recurring job's extra occurrence, due now (`POST /jobs/{id}/trigger`). */
export async function insertExtraOccurrence(trx: Db, job: JobRow, at: Date | null): Promise<ExecutionRow> {
  const now = atOrNow(at);
  const extra = await sql<ExecutionRow>`
    WITH occ AS (
      INSERT INTO occurrences (job_id, scheduled_for, status, reason)
      VALUES (${job.id}, ${now}, 'CREATED', 'triggered by hand')
      ON CONFLICT DO NOTHING
    )
    INSERT INTO executions (job_id, job_type, priority, attempt, ready, scheduled_for, occurrence_id, queue,
                            concurrency_key)
    VALUES (${job.id}, ${job.type}, ${job.priority}, 1, true, ${now}, nextval('executions_occurrence_seq'), ${job.queue},
            ${job.concurrency_key ?? ''})
    RETURNING *
  `.execute(trx);
  const execution = extra.rows[0]!;
  await sql`
    UPDATE occurrences SET execution_id = ${execution.id} WHERE job_id = ${job.id} AND scheduled_for = ${now}
  `.execute(trx);
  return execution;
}

/** Moves a one-shot job's waiting attempt (first or retry) to now; undefined when it has none. */
export async function movePendingToNow(
  trx: Db,
  jobId: number,
  at: Date | null,
): Promise<ExecutionRow | undefined> {
  const moved = await sql<ExecutionRow>`
    UPDATE executions SET scheduled_for = least(scheduled_for, ${atOrNow(at)}), ready = true
    WHERE job_id = ${jobId} AND status = 'PENDING'
    RETURNING *
  `.execute(trx);
  return moved.rows[0];
}

/**
 * A fresh run of a job at attempt 1, due now: a triggered finished one-shot job, or a requeued dead letter. A
 * one-shot job's execution is `one_shot`, so the database refuses a second open one (executions_one_open_per_once_job).
 */
export async function insertFreshExecution(trx: Db, job: JobRow, at: Date | null): Promise<ExecutionRow> {
  const { rows } = await sql<ExecutionRow>`
    INSERT INTO executions (job_id, job_type, priority, attempt, ready, scheduled_for, one_shot, occurrence_id,
                            queue, concurrency_key)
    VALUES (${job.id}, ${job.type}, ${job.priority}, 1, true, ${atOrNow(at)}, ${job.kind === 'once'},
            nextval('executions_occurrence_seq'), ${job.queue}, ${job.concurrency_key ?? ''})
    RETURNING *
  `.execute(trx);
  return rows[0]!;
}
