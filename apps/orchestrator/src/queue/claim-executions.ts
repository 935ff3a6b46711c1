import { sql } from 'kysely';
import type { Db } from '../db/database.js';

export interface ClaimedRow {
  id: number;
  job_id: number;
  job_type: string;
  attempt: number;
  scheduled_for: Date;
  lease_expires_at: Date;
  payload: unknown;
  max_attempts: number;
  timeout_ms: number | null;
}

/**
 * Claims up to `max` due executions of `types` for a runner, in one statement.
 *
 * The `picked` CTE is an optimisation fence (as in River's JobGetAvailable and Oban): it locks exactly the rows
 * the LIMIT selects, skipping rows another claimer holds (SKIP LOCKED), so concurrent claimers never wait on
 * or take the same execution, and the planner cannot turn the UPDATE into a scan that touches more rows. Only
 * `ready` rows are in the index it walks (see timing.ts), so executions scheduled for later cost nothing.
 */
export async function claimExecutions(
  db: Db,
  runnerId: string,
  types: readonly string[],
  max: number,
  leaseMs: number,
): Promise<ClaimedRow[]> {
  const { rows } = await sql<ClaimedRow>`
    WITH picked AS (
      SELECT id FROM executions
      WHERE status = 'PENDING' AND ready AND scheduled_for <= now() AND job_type = ANY(${types as string[]}::text[])
      ORDER BY priority DESC, scheduled_for, id
      LIMIT ${max}
      FOR UPDATE SKIP LOCKED
    ),
    claimed AS (
      UPDATE executions e
      SET status = 'RUNNING', runner_id = ${runnerId}, claimed_at = now(),
          lease_expires_at = now() + ${leaseMs} * interval '1 millisecond'
      FROM picked WHERE e.id = picked.id
      RETURNING e.id, e.job_id, e.job_type, e.attempt, e.scheduled_for, e.lease_expires_at
    ),
    running_jobs AS (
      UPDATE jobs j SET status = 'RUNNING', updated_at = now()
      FROM claimed WHERE j.id = claimed.job_id AND j.status = 'SCHEDULED'
    )
    SELECT c.*, j.payload, j.max_attempts, j.timeout_ms
    FROM claimed c JOIN jobs j ON j.id = c.job_id
    ORDER BY c.id
  `.execute(db);
  return rows;
}
