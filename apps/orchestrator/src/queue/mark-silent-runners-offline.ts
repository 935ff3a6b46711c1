import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import { outboxInsert } from './record-events.js';

/** Runners silent for `silenceMs` (3 heartbeat intervals) become OFFLINE. Idempotent, so safe in every replica. */
export async function markSilentRunnersOffline(db: Db, silenceMs: number): Promise<string[]> {
  const { rows } = await sql<{ id: string }>`
    WITH silent AS (
      UPDATE runners SET status = 'OFFLINE'
      WHERE status <> 'OFFLINE' AND last_heartbeat_at < now() - ${silenceMs} * interval '1 millisecond'
      RETURNING id
    ),
    silent_events AS (
      ${outboxInsert(sql`
        SELECT 'runner.offline', now(), NULL, NULL, id, NULL, jsonb_build_object('reason', 'silent') FROM silent
      `)}
    )
    SELECT id FROM silent
  `.execute(db);
  return rows.map((r) => r.id);
}
