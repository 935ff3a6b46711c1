import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import { outboxInsert } from './record-events.js';
import type { RunnerRow } from './rows.js';

export interface RunnerRegistration {
  id: string;
  name: string;
  host: string;
  types: string[];
  capacity: number;
  /** The queues it serves (null: all). */
  queues: string[] | null;
  /** The API key it registered with (null without authentication). */
  apiKeyId: number | null;
  /** The schema hash it declared per type. */
  schemaHashes: Record<string, string>;
}

/** Registers a runner, or re-registers one that restarted with the id it had (back to ONLINE); runner.online. */
export async function registerRunner(db: Db, r: RunnerRegistration): Promise<RunnerRow> {
  const { rows } = await sql<RunnerRow>`
    WITH registered AS (
    INSERT INTO runners (id, name, host, types, capacity, api_key_id, schema_hashes, queues)
    VALUES (${r.id}, ${r.name}, ${r.host}, ${r.types}::text[], ${r.capacity}, ${r.apiKeyId},
            ${JSON.stringify(r.schemaHashes)}::jsonb, ${r.queues}::text[])
    ON CONFLICT (id) DO UPDATE
      SET name = excluded.name, host = excluded.host, types = excluded.types, capacity = excluded.capacity,
          api_key_id = excluded.api_key_id, schema_hashes = excluded.schema_hashes, status = 'ONLINE',
          queues = excluded.queues,
          registered_at = now(), last_heartbeat_at = now()
    RETURNING *
    ),
    online_events AS (
      ${outboxInsert(sql`
        SELECT 'runner.online', now(), NULL, NULL, id, NULL,
               jsonb_build_object('name', name, 'host', host, 'types', to_jsonb(types), 'capacity', capacity)
        FROM registered
      `)}
    )
    SELECT * FROM registered
  `.execute(db);
  return rows[0]!;
}
