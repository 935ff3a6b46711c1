import { sql } from 'kysely';
import type { Db } from '../db/database.js';

export interface HeartbeatResult {
  found: boolean;
  status: string;
  leaseExpiresAt: Date;
  /** Executions this runner should abort: cancel requested, or reported running but no longer held. */
  cancel: number[];
}

/**
 * One round trip renews every lease the runner holds, stores the progress it reports, and reads what it must abort. A runner marked OFFLINE
 * that heartbeats again is ONLINE again (it was partitioned, not dead); its reaped executions come back in
 * `cancel` because they are no longer RUNNING under it.
 */
export async function heartbeatRunner(
  db: Db,
  runnerId: string,
  running: number[],
  leaseMs: number,
  /** Latest progress by execution id; stored on executions the runner still holds. */
  progress: Record<string, unknown> = {},
): Promise<HeartbeatResult> {
  const { rows } = await sql<{ status: string | null; lease_expires_at: Date; cancel: number[] }>`
    WITH runner AS (
      UPDATE runners
      SET last_heartbeat_at = now(), status = CASE WHEN status = 'OFFLINE' THEN 'ONLINE' ELSE status END
      WHERE id = ${runnerId}
      RETURNING status
    ),
    progress AS (
      SELECT key::bigint AS id, value FROM jsonb_each(${JSON.stringify(progress)}::jsonb)
    ),
    renewed AS (
      UPDATE executions e SET lease_expires_at = now() + ${leaseMs} * interval '1 millisecond',
        progress = coalesce((SELECT p.value FROM progress p WHERE p.id = e.id), e.progress),
        progress_at = CASE WHEN EXISTS (SELECT 1 FROM progress p WHERE p.id = e.id) THEN now() ELSE e.progress_at END
      WHERE runner_id = ${runnerId} AND status = 'RUNNING' AND EXISTS (SELECT 1 FROM runner)
      RETURNING id, cancel_requested
    )
    SELECT (SELECT status FROM runner) AS status,
           now() + ${leaseMs} * interval '1 millisecond' AS lease_expires_at,
           array(
             SELECT id FROM renewed WHERE cancel_requested
             UNION
             SELECT r.id FROM unnest(${running}::bigint[]) AS r(id)
             WHERE NOT EXISTS (SELECT 1 FROM renewed WHERE renewed.id = r.id)
           ) AS cancel
  `.execute(db);
  const row = rows[0]!;
  return {
    found: row.status !== null,
    status: row.status ?? 'OFFLINE',
    leaseExpiresAt: row.lease_expires_at,
    cancel: row.cancel.map(Number),
  };
}
