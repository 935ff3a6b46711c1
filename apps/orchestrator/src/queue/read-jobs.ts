import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import type { ExecutionRow, JobRow } from './rows.js';

export async function findJob(db: Db, id: number): Promise<JobRow | undefined> {
  const { rows } = await sql<JobRow>`SELECT * FROM jobs WHERE id = ${id}`.execute(db);
  return rows[0];
}

export async function findJobsByIdempotencyKey(db: Db, keys: string[]): Promise<JobRow[]> {
  if (keys.length === 0) return [];
  const { rows } = await sql<JobRow>`SELECT * FROM jobs WHERE idempotency_key = ANY(${keys}::text[])`.execute(
    db,
  );
  return rows;
}

export async function listJobs(
  db: Db,
  f: { status?: string; type?: string; kind?: string; limit: number; cursor?: number },
): Promise<JobRow[]> {
  let q = db.selectFrom('jobs').selectAll().orderBy('id', 'desc').limit(f.limit);
  if (f.status) q = q.where('status', '=', f.status);
  if (f.type) q = q.where('type', '=', f.type);
  if (f.kind) q = q.where('kind', '=', f.kind);
  if (f.cursor) q = q.where('id', '<', f.cursor);
  return (await q.execute()) as unknown as JobRow[];
}

export async function lastExecutionOf(db: Db, jobId: number): Promise<ExecutionRow | undefined> {
  const { rows } = await sql<ExecutionRow>`
    SELECT * FROM executions WHERE job_id = ${jobId} ORDER BY id DESC LIMIT 1
  `.execute(db);
  return rows[0];
}

export interface OccurrenceRow {
  scheduled_for: Date;
  status: string;
  reason: string | null;
  execution_id: number | null;
  execution_status: string | null;
  /** 1, or how many consecutive occurrences a SKIPPED row stands for. */
  occurrence_count: number;
  /** The last occurrence the row stands for (scheduled_for unless a skipped run). */
  last_scheduled_for: Date;
}

/** A recurring job's latest occurrence (or run of skipped ones) and what became of it. */
export async function lastOccurrenceOf(db: Db, jobId: number): Promise<OccurrenceRow | undefined> {
  const { rows } = await sql<OccurrenceRow>`
    SELECT o.scheduled_for, o.status, o.reason, o.execution_id, e.status AS execution_status, o.occurrence_count,
           coalesce(o.last_scheduled_for, o.scheduled_for) AS last_scheduled_for
    FROM occurrences o LEFT JOIN executions e ON e.id = o.execution_id
    WHERE o.job_id = ${jobId}
    ORDER BY o.scheduled_for DESC LIMIT 1
  `.execute(db);
  return rows[0];
}
