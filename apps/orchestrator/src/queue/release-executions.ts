import { sql } from 'kysely';
import type { Db } from '../db/database.js';

/**
 * Puts executions claimed for a runner whose long-poll went away before the answer was sent back to PENDING,
 * unchanged otherwise (same attempt), so they do not wait out a lease nobody will renew.
 */
export async function releaseExecutions(db: Db, runnerId: string, ids: number[]): Promise<void> {
  if (ids.length === 0) return;
  await sql`
    UPDATE executions
    SET status = 'PENDING', runner_id = NULL, claimed_at = NULL, lease_expires_at = NULL, ready = true
    WHERE id = ANY(${ids}::bigint[]) AND status = 'RUNNING' AND runner_id = ${runnerId}
  `.execute(db);
}
