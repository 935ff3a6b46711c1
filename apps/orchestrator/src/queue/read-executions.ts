import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import { type BoundedPage, boundedPage } from './bounded-page.js';
import type { ExecutionRow } from './rows.js';

export async function findExecution(db: Db, id: number): Promise<ExecutionRow | undefined> {
  const { rows } = await sql<ExecutionRow>`SELECT * FROM executions WHERE id = ${id}`.execute(db);
  return rows[0];
}

/** A job's history, newest first. */
export async function listJobExecutions(
  db: Db,
  jobId: number,
  page: { limit: number; cursor?: number },
  maxBytes: number,
): Promise<BoundedPage<ExecutionRow>> {
  return boundedPage(
    db,
    sql`
      SELECT *, octet_length(coalesce(result::text, '')) + octet_length(coalesce(progress::text, ''))
                + octet_length(coalesce(error, '')) AS row_bytes_
      FROM executions
      WHERE job_id = ${jobId} AND (${page.cursor ?? null}::bigint IS NULL OR id < ${page.cursor ?? null}::bigint)
      ORDER BY id DESC LIMIT ${page.limit}
    `,
    maxBytes,
  );
}

export type ActiveExecutionRow = ExecutionRow & { runner_name: string | null; runner_host: string | null };

export async function listActiveExecutions(db: Db, limit: number): Promise<ActiveExecutionRow[]> {
  const { rows } = await sql<ActiveExecutionRow>`
    SELECT e.*, r.name AS runner_name, r.host AS runner_host
    FROM executions e LEFT JOIN runners r ON r.id = e.runner_id
    WHERE e.status = 'RUNNING'
    ORDER BY e.claimed_at, e.id
    LIMIT ${limit}
  `.execute(db);
  return rows;
}
