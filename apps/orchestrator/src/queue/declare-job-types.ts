import { sql } from 'kysely';
import type { Db } from '../db/database.js';

export interface JobTypeDeclaration {
  name: string;
  /** The payload's JSON Schema and its hash, or null when the runner declared none. */
  payload_schema: Record<string, unknown> | null;
  schema_hash: string | null;
  max_attempts: number | null;
  backoff: Record<string, unknown> | null;
}

/**
 * Records the types a runner declared at registration, in the registration's transaction. The newest declaration
 * wins: a schema with another hash replaces the stored one and bumps its version (and names the runner); fields a
 * declaration leaves out (no schema, no retry defaults) keep their stored values.
 */
export async function declareJobTypes(
  trx: Db,
  runnerId: string,
  declarations: JobTypeDeclaration[],
): Promise<void> {
  if (declarations.length === 0) return;
  await sql`
    WITH input AS (
      SELECT * FROM jsonb_to_recordset(${JSON.stringify(declarations)}::jsonb)
        AS x(name text, payload_schema jsonb, schema_hash text, max_attempts int, backoff jsonb)
    )
    INSERT INTO job_types AS t (name, payload_schema, schema_hash, schema_version, schema_updated_at,
                                schema_runner_id, max_attempts, backoff)
    SELECT name, payload_schema, schema_hash,
           CASE WHEN schema_hash IS NULL THEN 0 ELSE 1 END,
           CASE WHEN schema_hash IS NULL THEN NULL ELSE now() END,
           CASE WHEN schema_hash IS NULL THEN NULL ELSE ${runnerId}::uuid END,
           max_attempts, backoff
    FROM input
    ORDER BY name -- a stable lock order: two runners registering at once cannot deadlock
    ON CONFLICT (name) DO UPDATE SET
      payload_schema = coalesce(excluded.payload_schema, t.payload_schema),
      schema_version = t.schema_version
        + CASE WHEN excluded.schema_hash IS DISTINCT FROM t.schema_hash AND excluded.schema_hash IS NOT NULL THEN 1 ELSE 0 END,
      schema_updated_at = CASE WHEN excluded.schema_hash IS DISTINCT FROM t.schema_hash AND excluded.schema_hash IS NOT NULL
                               THEN now() ELSE t.schema_updated_at END,
      schema_runner_id = CASE WHEN excluded.schema_hash IS DISTINCT FROM t.schema_hash AND excluded.schema_hash IS NOT NULL
                              THEN excluded.schema_runner_id ELSE t.schema_runner_id END,
      schema_hash = coalesce(excluded.schema_hash, t.schema_hash),
      max_attempts = coalesce(excluded.max_attempts, t.max_attempts),
      backoff = coalesce(excluded.backoff, t.backoff),
      last_declared_at = now()
  `.execute(trx);
}
