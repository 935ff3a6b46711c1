import { sql } from 'kysely';
import type { Db } from '../db/database.js';

export interface Gauges {
  /** Executions due and waiting to be claimed, counted up to 1,000,000. */
  backlogDue: number;
  /** Runners by status. */
  runners: Record<'ONLINE' | 'DRAINING' | 'OFFLINE', number>;
}

/** The database-wide figures /metrics reports, in one round trip. */
export async function readGauges(db: Db): Promise<Gauges> {
  const { rows } = await sql<{ backlog_due: number; runners: Record<string, number> }>`
    SELECT
      (SELECT count(*)::int FROM (
         SELECT 1 FROM executions WHERE status = 'PENDING' AND ready AND scheduled_for <= now() LIMIT 1000000
       ) due) AS backlog_due,
      (SELECT coalesce(jsonb_object_agg(status, n), '{}'::jsonb)
       FROM (SELECT status, count(*)::int AS n FROM runners GROUP BY status) r) AS runners
  `.execute(db);
  const row = rows[0]!;
  return {
    backlogDue: row.backlog_due,
    runners: {
      ONLINE: row.runners.ONLINE ?? 0,
      DRAINING: row.runners.DRAINING ?? 0,
      OFFLINE: row.runners.OFFLINE ?? 0,
    },
  };
}
