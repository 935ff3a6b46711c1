import { sql } from 'kysely';
import type { Db } from '../db/database.js';

export interface ApiKeyRow {
  id: number;
  name: string;
  prefix: string;
  hash: Buffer;
  scopes: string[];
  rate_limit_per_minute: number | null;
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

export async function insertApiKey(
  db: Db,
  k: { name: string; prefix: string; hash: Buffer; scopes: string[]; rateLimitPerMinute: number | null },
): Promise<ApiKeyRow> {
  const { rows } = await sql<ApiKeyRow>`
    INSERT INTO api_keys (name, prefix, hash, scopes, rate_limit_per_minute)
    VALUES (${k.name}, ${k.prefix}, ${k.hash}, ${k.scopes}::text[], ${k.rateLimitPerMinute})
    RETURNING *
  `.execute(db);
  return rows[0]!;
}

export async function findApiKeyByPrefix(db: Db, prefix: string): Promise<ApiKeyRow | undefined> {
  const { rows } = await sql<ApiKeyRow>`
    SELECT * FROM api_keys WHERE prefix = ${prefix} AND revoked_at IS NULL
  `.execute(db);
  return rows[0];
}

export async function listApiKeys(db: Db): Promise<ApiKeyRow[]> {
  const { rows } = await sql<ApiKeyRow>`SELECT * FROM api_keys ORDER BY id DESC LIMIT 1000`.execute(db);
  return rows;
}

/** Revokes a key (kept for the record); true when it existed and was active. */
export async function revokeApiKey(db: Db, id: number): Promise<boolean> {
  const { rows } = await sql<{ id: number }>`
    UPDATE api_keys SET revoked_at = now() WHERE id = ${id} AND revoked_at IS NULL RETURNING id
  `.execute(db);
  return rows.length > 0;
}

/** Marks keys as used, at most once a minute per key (a write per request would cost more than it tells). */
export async function touchApiKeys(db: Db, ids: number[]): Promise<void> {
  if (ids.length === 0) return;
  await sql`UPDATE api_keys SET last_used_at = now() WHERE id = ANY(${ids}::bigint[])`.execute(db);
}

/** The key a runner registered with (undefined: unknown runner; null: registered without auth). */
export async function runnerKeyId(db: Db, runnerId: string): Promise<number | null | undefined> {
  const { rows } = await sql<{ api_key_id: number | null }>`
    SELECT api_key_id FROM runners WHERE id = ${runnerId}
  `.execute(db);
  return rows[0] ? rows[0].api_key_id : undefined;
}

export async function bindRunnerToKey(db: Db, runnerId: string, keyId: number | null): Promise<void> {
  await sql`UPDATE runners SET api_key_id = ${keyId} WHERE id = ${runnerId}`.execute(db);
}
