import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import { atOrNow } from './timing.js';

/**
 * How an execution a runner held but never started is given back: to PENDING, same attempt, so it runs again
 * without waiting out a lease nobody will renew; but one whose job was cancelled meanwhile (`cancel_requested`)
 * is CANCELLED, never queued again (issue 10, defect 3). The SET list for `UPDATE executions e`; every path that gives
 * executions back uses it: a claim whose long-poll went away, a deregistration, a heartbeat that no longer lists it.
 */
export const giveBack = (at: Date | null) => sql`
  status = CASE WHEN e.cancel_requested THEN 'CANCELLED' ELSE 'PENDING' END,
  finished_at = CASE WHEN e.cancel_requested THEN ${atOrNow(at)} END,
  error = CASE WHEN e.cancel_requested THEN 'job cancelled before the execution started' END,
  runner_id = CASE WHEN e.cancel_requested THEN e.runner_id END,
  claimed_at = CASE WHEN e.cancel_requested THEN e.claimed_at END,
  lease_expires_at = NULL,
  ready = true`;

/** Gives back executions claimed for a runner whose long-poll went away before the answer was sent. */
export async function releaseExecutions(
  db: Db,
  runnerId: string,
  ids: number[],
  at: Date | null = null,
): Promise<void> {
  if (ids.length === 0) return;
  await sql`
    UPDATE executions e SET ${giveBack(at)}
    WHERE e.id = ANY(${ids}::bigint[]) AND e.status = 'RUNNING' AND e.runner_id = ${runnerId}
  `.execute(db);
}
