import { sql } from 'kysely';
import type { Db } from '../db/database.js';

export interface StatsRow {
  at: Date;
  jobs: Record<string, number>;
  sampled: number;
  buckets: { minute: string; succeeded: number; failed: number; cancelled: number }[];
}

/**
 * The overview of `GET /stats` in one round trip: jobs by status (the `jobs_status` index), and finished executions
 * per minute over the last hour among the newest `sample` executions. The sample walks the primary key backwards,
 * so the chart costs the same with a million rows of history as with a hundred; an execution created before the
 * sample began but finished within the hour is not counted (rare: long delays, long retries).
 */
export async function readStats(db: Db, sample: number): Promise<StatsRow> {
  const { rows } = await sql<StatsRow>`
    WITH recent AS MATERIALIZED (
      SELECT status, finished_at FROM executions ORDER BY id DESC LIMIT ${sample}
    )
    SELECT
      now() AS at,
      (SELECT coalesce(jsonb_object_agg(status, n), '{}'::jsonb)
       FROM (SELECT status, count(*)::int AS n FROM jobs GROUP BY status) j) AS jobs,
      (SELECT count(*)::int FROM recent) AS sampled,
      (SELECT coalesce(jsonb_agg(b ORDER BY b.minute), '[]'::jsonb) FROM (
         SELECT to_char(date_trunc('minute', finished_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:00.000"Z"') AS minute,
                count(*) FILTER (WHERE status = 'SUCCEEDED')::int AS succeeded,
                count(*) FILTER (WHERE status IN ('FAILED', 'TIMED_OUT'))::int AS failed,
                count(*) FILTER (WHERE status = 'CANCELLED')::int AS cancelled
         FROM recent
         WHERE finished_at >= date_trunc('minute', now()) - interval '59 minutes'
         GROUP BY 1
       ) b) AS buckets
  `.execute(db);
  return rows[0]!;
}
