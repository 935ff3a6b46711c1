import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import { atOrNow, READY_HORIZON_MS } from './timing.js';

/**
 * Moves PENDING executions due within the ready horizon into the claimable set. Safe in every replica at
 * once (SKIP LOCKED, idempotent). Returns the due times of the promoted rows, so claimers can be woken then.
 */
export async function promoteDueExecutions(db: Db, batch: number, at: Date | null = null): Promise<Date[]> {
  const { rows } = await sql<{ scheduled_for: Date }>`
    WITH due AS (
      SELECT id FROM executions
      WHERE status = 'PENDING' AND NOT ready
        AND scheduled_for <= ${atOrNow(at)} + ${READY_HORIZON_MS} * interval '1 millisecond'
      ORDER BY scheduled_for
      LIMIT ${batch}
      FOR UPDATE SKIP LOCKED
    )
    UPDATE executions e SET ready = true FROM due WHERE e.id = due.id
    RETURNING e.scheduled_for
  `.execute(db);
  return rows.map((r) => r.scheduled_for);
}

/** Due times of ready executions not yet due: what a replica starting up must set wake-ups for. */
export async function upcomingReadyTimes(db: Db): Promise<Date[]> {
  const { rows } = await sql<{ scheduled_for: Date }>`
    SELECT DISTINCT scheduled_for FROM executions
    WHERE status = 'PENDING' AND ready AND scheduled_for > now()
    LIMIT 10000
  `.execute(db);
  return rows.map((r) => r.scheduled_for);
}
