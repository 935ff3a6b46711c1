import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import type { RunnerRow } from './rows.js';

export interface RunnerRegistration {
  id: string;
  name: string;
  host: string;
  types: string[];
  capacity: number;
}

/** Registers a runner, or re-registers one that restarted with the id it had (back to ONLINE). */
export async function registerRunner(db: Db, r: RunnerRegistration): Promise<RunnerRow> {
  const { rows } = await sql<RunnerRow>`
    INSERT INTO runners (id, name, host, types, capacity)
    VALUES (${r.id}, ${r.name}, ${r.host}, ${r.types}::text[], ${r.capacity})
    ON CONFLICT (id) DO UPDATE
      SET name = excluded.name, host = excluded.host, types = excluded.types, capacity = excluded.capacity,
          status = 'ONLINE', registered_at = now(), last_heartbeat_at = now()
    RETURNING *
  `.execute(db);
  return rows[0]!;
}
