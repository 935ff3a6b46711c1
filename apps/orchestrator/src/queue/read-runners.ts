import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import type { RunnerRow } from './rows.js';

export async function findRunner(db: Db, id: string): Promise<RunnerRow | undefined> {
  const { rows } = await sql<RunnerRow>`SELECT * FROM runners WHERE id = ${id}`.execute(db);
  return rows[0];
}

/** Runners with their current load; OFFLINE ones are listed only on request (they pile up over restarts). */
export async function listRunners(
  db: Db,
  includeOffline: boolean,
): Promise<(RunnerRow & { running: number })[]> {
  const { rows } = await sql<RunnerRow & { running: number }>`
    SELECT r.*, (SELECT count(*) FROM executions e WHERE e.runner_id = r.id AND e.status = 'RUNNING')::int AS running
    FROM runners r
    WHERE ${includeOffline} OR r.status <> 'OFFLINE'
    ORDER BY r.registered_at DESC
    LIMIT 1000
  `.execute(db);
  return rows;
}
