import { sql } from 'kysely';
import type { Db } from '../db/database.js';

export interface JobTypeRow {
  name: string;
  payload_schema: Record<string, unknown> | null;
  schema_hash: string | null;
  schema_version: number;
  schema_updated_at: Date | null;
  schema_runner_id: string | null;
  max_attempts: number | null;
  backoff: Record<string, unknown> | null;
  last_declared_at: Date | null;
}

/** The declared types among `names` (what a create needs: schema and retry defaults). */
export async function findJobTypes(db: Db, names: string[]): Promise<JobTypeRow[]> {
  if (names.length === 0) return [];
  const { rows } = await sql<JobTypeRow>`
    SELECT name, payload_schema, schema_hash, schema_version, schema_updated_at, schema_runner_id, max_attempts,
           backoff, last_declared_at
    FROM job_types WHERE name = ANY(${names}::text[])
  `.execute(db);
  return rows;
}

export interface JobTypeOverviewRow extends JobTypeRow {
  due_backlog: number;
  oldest_due_age_seconds: number | null;
}

/**
 * Every type seen: declared by a runner, or named by a job (found by skipping through the jobs_type index one
 * type at a time, a loose index scan, so its cost follows the number of types, not of jobs), with its due
 * backlog.
 */
export async function listJobTypes(db: Db, builtin: string[]): Promise<JobTypeOverviewRow[]> {
  const { rows } = await sql<JobTypeOverviewRow>`
    WITH RECURSIVE seen AS (
      (SELECT type FROM jobs ORDER BY type LIMIT 1)
      UNION ALL
      SELECT (SELECT j.type FROM jobs j WHERE j.type > seen.type ORDER BY j.type LIMIT 1) FROM seen
      WHERE seen.type IS NOT NULL
    ),
    names AS (
      SELECT type AS name FROM seen WHERE type IS NOT NULL
      UNION SELECT name FROM job_types
      UNION SELECT unnest(${builtin}::text[])
    ),
    backlog AS (
      SELECT job_type, count(*)::int AS due_backlog, extract(epoch FROM now() - min(scheduled_for))::float8 AS oldest_due_age_seconds
      FROM executions WHERE status = 'PENDING' AND ready AND scheduled_for <= now()
      GROUP BY job_type
    )
    SELECT n.name, t.payload_schema, t.schema_hash, coalesce(t.schema_version, 0) AS schema_version,
           t.schema_updated_at, t.schema_runner_id, t.max_attempts, t.backoff, t.last_declared_at,
           coalesce(b.due_backlog, 0) AS due_backlog, b.oldest_due_age_seconds
    FROM names n
    LEFT JOIN job_types t ON t.name = n.name
    LEFT JOIN backlog b ON b.job_type = n.name
    ORDER BY n.name
    LIMIT 10000
  `.execute(db);
  return rows;
}
