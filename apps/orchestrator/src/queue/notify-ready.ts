import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import { READY_CHANNEL } from './timing.js';

/**
 * Tells every replica's claimers that executions became claimable. The payload lists the due times (epoch ms,
 * rounded up to 5 ms buckets so a burst is a handful of numbers): a replica wakes its waiters at each of them.
 * Sent after commit and outside the writing transaction, because NOTIFY serialises committing transactions
 * on a global lock, and batched by the caller, so it costs one statement per burst, not one per job.
 * `sender` names the replica, which has already woken its own waiters and so ignores its own notification
 * (measured: one claim query per job less at low load).
 */
export async function notifyReady(db: Db, sender: string, dueTimesMs: number[]): Promise<void> {
  const payload = `${sender}|${encodeDueTimes(dueTimesMs)}`;
  await sql`SELECT pg_notify(${READY_CHANNEL}, ${payload})`.execute(db);
}

const BUCKET_MS = 5;
const MAX_PAYLOAD = 7_900; // PostgreSQL's limit is 8000 bytes

export function encodeDueTimes(dueTimesMs: number[]): string {
  const buckets = [...new Set(dueTimesMs.map((t) => Math.ceil(t / BUCKET_MS) * BUCKET_MS))].sort(
    (a, b) => a - b,
  );
  let out = '';
  for (const b of buckets) {
    const next = out ? `${out},${b}` : String(b);
    if (next.length > MAX_PAYLOAD) break; // later times are caught by the periodic safety-net wake-up
    out = next;
  }
  return out;
}

/** The sender and due times of a notification's payload. */
export function decodeNotification(payload: string | undefined): { sender: string; dueTimesMs: number[] } {
  const [sender = '', times = ''] = (payload ?? '').split('|', 2);
  return { sender, dueTimesMs: decodeDueTimes(times) };
}

export function decodeDueTimes(payload: string | undefined): number[] {
  if (!payload) return [];
  return payload
    .split(',')
    .map(Number)
    .filter((n) => Number.isFinite(n));
}
