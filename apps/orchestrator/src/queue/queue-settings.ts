import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import { QUEUE_SETTINGS_LOCK } from './claim-executions.js';

export interface QueueRow {
  name: string;
  concurrency: number | null;
  per_key_concurrency: number | null;
  rate_limit: number | null;
  rate_period_ms: number | null;
  rate_per_key: boolean;
  paused: boolean;
  updated_at: Date;
}

export interface QueueWithCounts extends QueueRow {
  due: number;
  running: number;
  scheduled: number;
  failed: number;
}

export interface QueueLimitsInput {
  concurrency: number | null;
  per_key_concurrency: number | null;
  rate_limit: number | null;
  rate_period_ms: number | null;
  rate_per_key: boolean;
}

/**
 * Waits for the claims in flight, and holds new ones back until this transaction ends (see claimExecutions): a
 * change of a queue's settings applies to every claim that starts after it commits, on every replica.
 */
async function holdClaims(trx: Db): Promise<void> {
  await sql`SELECT pg_advisory_xact_lock(${QUEUE_SETTINGS_LOCK})`.execute(trx);
}

/** Sets a queue's limits (creating its row if it has none); its paused state is kept. */
export async function configureQueue(trx: Db, name: string, limits: QueueLimitsInput): Promise<QueueRow> {
  await holdClaims(trx);
  const { rows } = await sql<QueueRow>`
    INSERT INTO queues (name, concurrency, per_key_concurrency, rate_limit, rate_period_ms, rate_per_key)
    VALUES (${name}, ${limits.concurrency}, ${limits.per_key_concurrency}, ${limits.rate_limit},
            ${limits.rate_period_ms}, ${limits.rate_per_key})
    ON CONFLICT (name) DO UPDATE
      SET concurrency = excluded.concurrency, per_key_concurrency = excluded.per_key_concurrency,
          rate_limit = excluded.rate_limit, rate_period_ms = excluded.rate_period_ms,
          rate_per_key = excluded.rate_per_key, updated_at = now()
    RETURNING *
  `.execute(trx);
  return rows[0]!;
}

/** Pauses or resumes a queue (creating its row if it has none). */
export async function setQueuePaused(trx: Db, name: string, paused: boolean): Promise<QueueRow> {
  await holdClaims(trx);
  const { rows } = await sql<QueueRow>`
    INSERT INTO queues (name, paused) VALUES (${name}, ${paused})
    ON CONFLICT (name) DO UPDATE SET paused = excluded.paused, updated_at = now()
    RETURNING *
  `.execute(trx);
  return rows[0]!;
}

/**
 * Queues by name with live counts, each counted up to `cap` (a bounded walk of an index holding only the rows it
 * counts: executions_claimable_by_queue for due, executions_running_by_queue, executions_waiting_by_queue and the
 * ready-but-not-yet-due rows for scheduled, jobs_failed_by_queue). `name` picks one queue.
 */
export async function readQueues(
  db: Db,
  opts: { name?: string; limit: number; cap: number },
): Promise<QueueWithCounts[]> {
  const counted = (from: ReturnType<typeof sql>) =>
    sql`(SELECT count(*) FROM (SELECT 1 ${from} LIMIT ${opts.cap}) c)::int`;
  const { rows } = await sql<QueueWithCounts>`
    SELECT q.name, q.concurrency, q.per_key_concurrency, q.rate_limit, q.rate_period_ms, q.rate_per_key, q.paused,
           q.updated_at,
           ${counted(sql`FROM executions e WHERE e.queue = q.name AND e.status = 'PENDING' AND e.ready
                          AND e.scheduled_for <= now()`)} AS due,
           ${counted(sql`FROM executions e WHERE e.queue = q.name AND e.status = 'RUNNING'`)} AS running,
           ${counted(sql`FROM executions e WHERE e.queue = q.name AND e.status = 'PENDING' AND NOT e.ready`)}
             + ${counted(sql`FROM executions e WHERE e.queue = q.name AND e.status = 'PENDING' AND e.ready
                              AND e.scheduled_for > now()`)} AS scheduled,
           ${counted(sql`FROM jobs j WHERE j.queue = q.name AND j.status = 'FAILED'`)} AS failed
    FROM queues q
    WHERE (${opts.name ?? null}::text IS NULL OR q.name = ${opts.name ?? null})
    ORDER BY q.name
    LIMIT ${opts.limit}
  `.execute(db);
  return rows;
}
