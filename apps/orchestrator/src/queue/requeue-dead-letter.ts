import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import type { ExecutionRow } from './rows.js';

export type RequeueResult =
  | { kind: 'not_found' }
  | { kind: 'already_requeued' }
  | { kind: 'job_cancelled' }
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
  }>`
    SELECT d.job_id, d.requeued_at, j.status, j.type, j.priority
    FROM dead_letters d JOIN jobs j ON j.id = d.job_id
    WHERE d.id = ${deadLetterId}
    FOR UPDATE
  `.execute(trx);
  const dl = rows[0];
  if (!dl) return { kind: 'not_found' };
  if (dl.requeued_at) return { kind: 'already_requeued' };
  if (dl.status === 'CANCELLED') return { kind: 'job_cancelled' };
  const inserted = await sql<ExecutionRow>`
    INSERT INTO executions (job_id, job_type, priority, attempt, ready, scheduled_for)
    VALUES (${dl.job_id}, ${dl.type}, ${dl.priority}, 1, true, now())
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
