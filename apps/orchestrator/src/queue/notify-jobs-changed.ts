import { sql } from 'kysely';
import type { Db } from '../db/database.js';

/** The channel that tells every replica which jobs changed state (so a `GET /jobs/{id}?wait=` can answer). */
export const JOBS_CHANNEL = 'hourglass_jobs';

const MAX_PAYLOAD = 7_900; // PostgreSQL's limit is 8000 bytes

/**
 * `sender|id,id,…` payloads, as many as the ids need. Sent after commit, outside the writing transaction (NOTIFY
 * serialises committing transactions on a global lock), in one statement however many payloads there are.
 */
export async function notifyJobsChanged(db: Db, sender: string, jobIds: number[]): Promise<void> {
  const payloads: string[] = [];
  let current = '';
  for (const id of jobIds) {
    const next = current ? `${current},${id}` : `${sender}|${id}`;
    if (next.length > MAX_PAYLOAD) {
      payloads.push(current);
      current = `${sender}|${id}`;
    } else current = next;
  }
  if (current) payloads.push(current);
  if (payloads.length === 0) return;
  await sql`SELECT pg_notify(${JOBS_CHANNEL}, p) FROM unnest(${payloads}::text[]) AS p`.execute(db);
}

export function decodeJobsChanged(payload: string): { sender: string; jobIds: number[] } {
  const [sender = '', ids = ''] = payload.split('|', 2);
  return {
    sender,
    jobIds: ids
      .split(',')
      .map(Number)
      .filter((n) => Number.isInteger(n) && n > 0),
  };
}
