import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import type { JobRow } from './rows.js';
import { atOrNow } from './timing.js';

/**
 * Locks a job for a command: its PENDING and RUNNING executions first, then the job row. Lock order everywhere
 * is executions, then jobs (claims and completions go that way), so a command racing a completion waits instead
 * of deadlocking. Returns the job, whether it has an open execution, and the time the command acts at.
 */
export async function lockJob(
  trx: Db,
  jobId: number,
  at: Date | null,
): Promise<{ job: JobRow; open: boolean; now: Date } | undefined> {
  const locked = await sql<{ id: number }>`
    SELECT id FROM executions WHERE job_id = ${jobId} AND status IN ('PENDING', 'RUNNING') ORDER BY id FOR UPDATE
  `.execute(trx);
  const { rows } = await sql<JobRow & { now: Date }>`
    SELECT *, ${atOrNow(at)} AS now FROM jobs WHERE id = ${jobId} FOR UPDATE
  `.execute(trx);
  const row = rows[0];
  if (!row) return undefined;
  const { now, ...job } = row;
  return { job, open: locked.rows.length > 0, now };
}

/** Sets a job's status as the lifecycle decided; `finished` stamps or clears finished_at, or leaves it. */
export async function setJobStatus(
  trx: Db,
  jobId: number,
  status: JobRow['status'],
  finished: 'stamp' | 'clear' | 'keep',
  at: Date | null,
): Promise<JobRow> {
  const finishedAt =
    finished === 'stamp'
      ? sql`coalesce(finished_at, ${atOrNow(at)})`
      : finished === 'clear'
        ? sql`NULL`
        : sql`finished_at`;
  const { rows } = await sql<JobRow>`
    UPDATE jobs SET status = ${status}, finished_at = ${finishedAt}, updated_at = ${atOrNow(at)}
    WHERE id = ${jobId} RETURNING *
  `.execute(trx);
  return rows[0]!;
}
