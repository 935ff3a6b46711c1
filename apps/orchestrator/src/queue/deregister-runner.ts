import { sql } from 'kysely';
import type { Db } from '../db/database.js';

/**
 * Marks a runner OFFLINE on graceful shutdown. Anything it still holds is failed at once (a retry is scheduled
 * by the caller through retryOrDeadLetter) rather than waiting for the lease to expire.
 * Returns null when the runner is unknown, else the ids of the executions it abandoned.
 */
export async function deregisterRunner(trx: Db, runnerId: string): Promise<number[] | null> {
  const { rows } = await sql<{ id: number }>`
    UPDATE runners SET status = 'OFFLINE' WHERE id = ${runnerId} RETURNING id
  `.execute(trx);
  if (rows.length === 0) return null;
  const abandoned = await sql<{ id: number }>`
    UPDATE executions
    SET status = 'FAILED', finished_at = now(), lease_expires_at = NULL,
        error = 'runner deregistered while the execution was running'
    WHERE runner_id = ${runnerId} AND status = 'RUNNING'
    RETURNING id
  `.execute(trx);
  return abandoned.rows.map((r) => r.id);
}
