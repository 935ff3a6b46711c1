import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import { outboxInsert } from './record-events.js';

/** Asks a runner to drain: it stops claiming, finishes what it holds and deregisters (told by heartbeat). */
export async function drainRunner(db: Db, runnerId: string): Promise<boolean> {
  const { rows } = await sql<{ id: string }>`
    WITH drained AS (
      UPDATE runners r SET status = 'DRAINING'
      FROM (SELECT id, status FROM runners WHERE id = ${runnerId} FOR UPDATE) before
      WHERE r.id = before.id AND r.status <> 'OFFLINE'
      RETURNING r.id, before.status AS was
    ),
    -- Asked again while draining: no second event.
    drain_events AS (
      ${outboxInsert(sql`
        SELECT 'runner.draining', now(), NULL, NULL, id, NULL, '{}' FROM drained WHERE was <> 'DRAINING'
      `)}
    )
    SELECT id FROM drained
  `.execute(db);
  return rows.length > 0;
}
