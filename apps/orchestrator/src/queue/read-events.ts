import type { EventKind } from '@hourglass/contracts';
import { sql } from 'kysely';
import type { Db } from '../db/database.js';

export interface EventRow {
  id: number;
  kind: EventKind;
  at: Date;
  job_id: number | null;
  execution_id: number | null;
  runner_id: string | null;
  job_type: string | null;
  data: Record<string, unknown>;
}

export interface EventFilter {
  jobId?: number | undefined;
  type?: string | undefined;
  kinds?: readonly EventKind[] | undefined;
}

/**
 * Events with ids in (after, upTo] that match the filter, in id order, at most `limit`. The range bounds what one
 * page scans whatever the filter (a rare kind must not walk the whole table per page); the caller moves `after` to
 * `upTo` when the page is not full. Only the conditions given are in the statement, so the planner picks the
 * index for them (events_job for a job, else the primary key over the window).
 */
export async function readEvents(
  db: Db,
  filter: EventFilter,
  after: number,
  upTo: number,
  limit: number,
): Promise<EventRow[]> {
  const conditions = [sql`id > ${after}`, sql`id <= ${upTo}`];
  if (filter.jobId !== undefined) conditions.push(sql`job_id = ${filter.jobId}`);
  if (filter.type !== undefined) conditions.push(sql`job_type = ${filter.type}`);
  if (filter.kinds !== undefined) conditions.push(sql`kind = ANY(${filter.kinds as string[]}::text[])`);
  const { rows } = await sql<EventRow>`
    SELECT id, kind, at, job_id, execution_id, runner_id, job_type, data FROM events
    WHERE ${sql.join(conditions, sql` AND `)}
    ORDER BY id
    LIMIT ${limit}
  `.execute(db);
  return rows;
}
