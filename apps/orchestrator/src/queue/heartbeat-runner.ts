import type { RunnerStatus } from '@hourglass/contracts';
import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import { outboxInsert } from './record-events.js';
import { giveBack } from './release-executions.js';
import { atOrNow } from './timing.js';

export interface HeartbeatResult {
  found: boolean;
  status: RunnerStatus;
  leaseExpiresAt: Date;
  /** Executions this runner should abort: cancel requested, no longer held, or held but not listed (released). */
  cancel: number[];
  /** Executions it held without listing them: back in the queue (same attempt), or cancelled if their job was. */
  released: number[];
}

/**
 * Executions claimed this recently are left alone when a heartbeat does not list them: the heartbeat may have been
 * sent before the runner received them (a claim and a heartbeat cross on the wire).
 */
export const UNLISTED_GRACE_MS = 5_000;

/**
 * One round trip renews the leases of the executions the runner lists (and only those: issue 10, defect 1), stores
 * the progress it reports, and reads what it must abort. An execution it holds but no longer lists (a claim answer
 * lost on the way, say), claimed more than UNLISTED_GRACE_MS ago, never reached a handler that the runner knows of:
 * it goes back to PENDING with the same attempt, and comes back in `cancel` in case the runner has it after all.
 * A runner marked OFFLINE that heartbeats again is ONLINE again (it was partitioned, not dead); its reaped
 * executions come back in `cancel` because they are no longer RUNNING under it.
 */
export async function heartbeatRunner(
  db: Db,
  runnerId: string,
  running: number[],
  leaseMs: number,
  /** Latest progress by execution id; stored on executions the runner still holds. */
  progress: Record<string, unknown> = {},
  at: Date | null = null,
): Promise<HeartbeatResult> {
  const now = atOrNow(at);
  const { rows } = await sql<{
    status: RunnerStatus | null;
    lease_expires_at: Date;
    cancel: number[];
    released: number[];
  }>`
    WITH runner AS (
      UPDATE runners r
      SET last_heartbeat_at = ${now}, status = CASE WHEN r.status = 'OFFLINE' THEN 'ONLINE' ELSE r.status END
      FROM (SELECT status FROM runners WHERE id = ${runnerId}) before
      WHERE r.id = ${runnerId}
      RETURNING r.status, before.status AS was
    ),
    -- A runner back from OFFLINE (it was partitioned, not dead) is online again.
    back_events AS (
      ${outboxInsert(sql`
        SELECT 'runner.online', ${now}, NULL, NULL, ${runnerId}::text, NULL, jsonb_build_object('reason', 'heartbeat resumed')
        FROM runner WHERE was = 'OFFLINE'
      `)}
    ),
    progress AS (
      SELECT key::bigint AS id, value FROM jsonb_each(${JSON.stringify(progress)}::jsonb)
    ),
    -- The runner's executions are locked in id order before they are renewed or released, as a report locks them
    -- (complete-executions.ts): taken in scan order, a heartbeat and a report of the same runner deadlocked.
    locked AS (
      SELECT e.id FROM executions e WHERE e.runner_id = ${runnerId} AND e.status = 'RUNNING' ORDER BY e.id FOR UPDATE
    ),
    renewed AS (
      UPDATE executions e SET lease_expires_at = ${now} + ${leaseMs} * interval '1 millisecond',
        progress = coalesce((SELECT p.value FROM progress p WHERE p.id = e.id), e.progress),
        progress_at = CASE WHEN EXISTS (SELECT 1 FROM progress p WHERE p.id = e.id) THEN ${now} ELSE e.progress_at END
      WHERE e.id IN (SELECT id FROM locked) AND e.id = ANY(${running}::bigint[]) AND runner_id = ${runnerId}
        AND status = 'RUNNING' AND EXISTS (SELECT 1 FROM runner)
      RETURNING id, cancel_requested
    ),
    -- Back in the queue, same attempt; but one whose job was cancelled meanwhile is cancelled (giveBack).
    released AS (
      UPDATE executions e SET ${giveBack(at)}
      WHERE e.id IN (SELECT id FROM locked) AND e.runner_id = ${runnerId} AND e.status = 'RUNNING'
        AND NOT (e.id = ANY(${running}::bigint[]))
        AND e.claimed_at < ${now} - ${UNLISTED_GRACE_MS} * interval '1 millisecond' AND EXISTS (SELECT 1 FROM runner)
      RETURNING e.id
    )
    SELECT (SELECT status FROM runner) AS status,
           ${now} + ${leaseMs} * interval '1 millisecond' AS lease_expires_at,
           array(
             SELECT id FROM renewed WHERE cancel_requested
             UNION
             SELECT r.id FROM unnest(${running}::bigint[]) AS r(id)
             WHERE NOT EXISTS (SELECT 1 FROM renewed WHERE renewed.id = r.id)
             UNION
             SELECT id FROM released
           ) AS cancel,
           array(SELECT id FROM released) AS released
  `.execute(db);
  const row = rows[0]!;
  return {
    found: row.status !== null,
    status: row.status ?? 'OFFLINE',
    leaseExpiresAt: row.lease_expires_at,
    cancel: row.cancel.map(Number),
    released: row.released.map(Number),
  };
}
