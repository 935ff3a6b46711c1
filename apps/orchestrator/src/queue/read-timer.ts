import type { JobStatus } from '@hourglass/contracts';
import { sql } from 'kysely';
import type { Db } from '../db/database.js';

export interface TimerRow {
  id: number;
  url: string;
  status: JobStatus;
  fire_at: Date;
  time_left: number;
  fired_at: Date | null;
  attempts: number;
  last_error: string | null;
}

/**
 * A timer (a `webhook` job) with its countdown on the database's clock: whole seconds until `run_at`, rounded
 * up, 0 once due; and what its executions did (attempts made, when one succeeded, the latest error).
 */
export async function readTimer(db: Db, id: number): Promise<TimerRow | undefined> {
  const { rows } = await sql<TimerRow>`
    SELECT j.id, j.payload->>'url' AS url, j.status, j.run_at AS fire_at,
           greatest(0, ceil(extract(epoch FROM j.run_at - now())))::int AS time_left,
           (SELECT max(e.finished_at) FROM executions e WHERE e.job_id = j.id AND e.status = 'SUCCEEDED') AS fired_at,
           (SELECT count(*) FROM executions e
             WHERE e.job_id = j.id AND e.status IN ('RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT'))::int AS attempts,
           (SELECT e.error FROM executions e WHERE e.job_id = j.id AND e.error IS NOT NULL ORDER BY e.id DESC LIMIT 1)
             AS last_error
    FROM jobs j
    WHERE j.id = ${id} AND j.type = 'webhook'
  `.execute(db);
  return rows[0];
}
