import { sql } from 'kysely';
import type { Db } from '../db/database.js';

/** Asks a runner to drain: it stops claiming, finishes what it holds and deregisters (told by heartbeat). */
export async function drainRunner(db: Db, runnerId: string): Promise<boolean> {
  const { rows } = await sql<{ id: string }>`
    UPDATE runners SET status = 'DRAINING' WHERE id = ${runnerId} AND status <> 'OFFLINE' RETURNING id
  `.execute(db);
  return rows.length > 0;
}
