import { type RawBuilder, sql } from 'kysely';
import type { Db } from '../db/database.js';

/** A page of a list, and whether it ended early because of its size (then the caller offers a nextCursor). */
export interface BoundedPage<T> {
  rows: T[];
  truncated: boolean;
}

/**
 * Runs a list query (newest first: `ORDER BY id DESC LIMIT n`, selecting `row_bytes_`, the size a row adds to the
 * answer) and keeps its rows while they add up to at most `maxBytes`, the first one always (issue 10, defect 10):
 * a 500-row page of 1 MiB payloads would otherwise be built in memory whole. The sum is computed in PostgreSQL, so
 * rows past the budget never reach the orchestrator.
 */
export async function boundedPage<T>(
  db: Db,
  query: RawBuilder<unknown>,
  maxBytes: number,
): Promise<BoundedPage<T>> {
  const { rows } = await sql<T & { page_rows_: number }>`
    WITH page AS MATERIALIZED (${query}),
    sized AS (
      SELECT page.*, row_number() OVER w AS page_n_, sum(row_bytes_) OVER w AS page_bytes_
      FROM page WINDOW w AS (ORDER BY id DESC ROWS UNBOUNDED PRECEDING)
    )
    SELECT *, (SELECT count(*) FROM page) AS page_rows_ FROM sized
    WHERE page_n_ = 1 OR page_bytes_ <= ${maxBytes}
    ORDER BY id DESC
  `.execute(db);
  return { rows, truncated: rows.length > 0 && rows.length < Number(rows[0]!.page_rows_) };
}
