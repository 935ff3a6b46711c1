import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import type { ExecutionRow } from './rows.js';

export type RequeueResult =
  | { kind: 'not_found' }
  | { kind: 'already_requeued' }
  | { kind: 'job_cancelled' }
  | { kind: 'job_busy' }
  | { kind: 'requeued'; execution: ExecutionRow };

/**
 * Gives a dead-lettered job a fresh run: a new execution at attempt 1 (a full retry budget), due now, and the
 * job SCHEDULED again. The dead letter is kept, marked requeued, as the record of what happened.
 */
export async function requeueDeadLetter(trx: Db, deadLetterId: number): Promise<RequeueResult> {
  const { rows } = await sql<{
    job_id: number;
    requeued_at: Date | null;
    status: string;
    type: string;
    priority: number;
    kind: string;
    open: boolean;
  }>`
    SELECT d.job_id, d.requeued_at, j.status, j.type, j.priority, j.kind,
           EXISTS (SELECT 1 FROM executions e WHERE e.job_id = d.job_id AND e.status IN ('PENDING', 'RUNNING')) AS open
    FROM dead_letters d JOIN jobs j ON j.id = d.job_id
    WHERE d.id = ${deadLetterId}
    FOR UPDATE
  `.execute(trx);
  const dl = rows[0];
  if (!dl) return { kind: 'not_found' };
  if (dl.requeued_at) return { kind: 'already_requeued' };
  if (dl.status === 'CANCELLED') return { kind: 'job_cancelled' };
  // A one-shot job already running again (triggered since it was dead-lettered): a requeue would run it twice.
  if (dl.kind === 'once' && dl.open) return { kind: 'job_busy' };
  const inserted = await sql<ExecutionRow>`
    INSERT INTO executions (job_id, job_type, priority, attempt, ready, scheduled_for, one_shot, occurrence_id)
    VALUES (${dl.job_id}, ${dl.type}, ${dl.priority}, 1, true, now(), ${dl.kind === 'once'},
            nextval('executions_occurrence_seq'))
    RETURNING *
  `.execute(trx);
  const execution = inserted.rows[0]!;
  await sql`
    UPDATE dead_letters SET requeued_at = now(), requeue_execution_id = ${execution.id} WHERE id = ${deadLetterId}
  `.execute(trx);
  await sql`
    UPDATE jobs SET status = 'SCHEDULED', updated_at = now(), finished_at = NULL
    WHERE id = ${dl.job_id} AND status IN ('FAILED', 'SUCCEEDED')
  `.execute(trx);
  return { kind: 'requeued', execution };
}
