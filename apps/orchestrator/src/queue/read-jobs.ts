import type { ExecutionStatus, JobStatus } from '@hourglass/contracts';
import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import { type BoundedPage, boundedPage } from './bounded-page.js';
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

/** The jobs holding these unique keys (in one of their unique_states: jobs_unique_key's predicate). */
export async function findUniqueHolders(db: Db, keys: string[]): Promise<JobRow[]> {
  if (keys.length === 0) return [];
  const { rows } = await sql<JobRow>`
    SELECT * FROM jobs
    WHERE unique_key = ANY(${keys}::text[]) AND unique_key IS NOT NULL AND status = ANY(unique_states)
  `.execute(db);
  return rows;
}

export async function listJobs(
  db: Db,
  f: { status?: JobStatus; type?: string; kind?: string; q?: string; limit: number; cursor?: number },
  maxBytes: number,
): Promise<BoundedPage<JobRow>> {
  // `q` is an id or an idempotency key, matched exactly: both are indexed. (A prefix match could not use the
  // key's index under a database's usual non-C collation, and would read the whole table when nothing matches.)
  const q = f.q ?? null;
  const qId =
    q !== null && /^[1-9][0-9]{0,15}$/.test(q) && Number(q) <= Number.MAX_SAFE_INTEGER ? Number(q) : null;
  // Filters absent are NULL parameters; PostgreSQL folds `NULL IS NULL OR …` away when it plans the query.
  return boundedPage(
    db,
    sql`
      SELECT *, octet_length(payload::text) AS row_bytes_ FROM jobs
      WHERE (${f.status ?? null}::text IS NULL OR status = ${f.status ?? null})
        AND (${f.type ?? null}::text IS NULL OR type = ${f.type ?? null})
        AND (${f.kind ?? null}::text IS NULL OR kind = ${f.kind ?? null})
        AND (${q}::text IS NULL OR idempotency_key = ${q} OR id = ${qId}::bigint)
        AND (${f.cursor ?? null}::bigint IS NULL OR id < ${f.cursor ?? null}::bigint)
      ORDER BY id DESC LIMIT ${f.limit}
    `,
    maxBytes,
  );
}

export async function lastExecutionOf(db: Db, jobId: number): Promise<ExecutionRow | undefined> {
  const { rows } = await sql<ExecutionRow>`
    SELECT * FROM executions WHERE job_id = ${jobId} ORDER BY id DESC LIMIT 1
  `.execute(db);
  return rows[0];
}

export interface OccurrenceRow {
  scheduled_for: Date;
  status: 'CREATED' | 'SKIPPED' | 'QUEUED';
  reason: string | null;
  execution_id: number | null;
  execution_status: ExecutionStatus | null;
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
