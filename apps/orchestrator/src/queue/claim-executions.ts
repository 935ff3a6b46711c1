import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import { OUTBOX } from './record-events.js';
import { atOrNow } from './timing.js';

/** What a claim asks for: up to `max` executions of `types`, their payloads at most `maxBytes`, leased for `leaseMs`. */
export interface Claim {
  runnerId: string;
  types: readonly string[];
  max: number;
  leaseMs: number;
  maxBytes: number;
}

export interface ClaimedRow {
  id: number;
  job_id: number;
  job_type: string;
  attempt: number;
  scheduled_for: Date;
  lease_expires_at: Date;
  payload: unknown;
  max_attempts: number;
  timeout_ms: number | null;
  /** Null for the job's first occurrence; else the occurrence's number (shared by its retries). */
  occurrence_id: number | null;
}

/**
 * Claims up to `max` due executions of `types` for a runner, in one statement (in a transaction only to scope a
 * planner setting to it, see below).
 *
 * The `picked` CTE is an optimisation fence (as in River's JobGetAvailable and Oban): it locks exactly the rows
 * the LIMIT selects, skipping rows another claimer holds (SKIP LOCKED), so concurrent claimers never wait on
 * or take the same execution, and the planner cannot turn the UPDATE into a scan that touches more rows. Only
 * `ready` rows are in the index it walks (see timing.ts), so executions scheduled for later cost nothing.
 *
 * Two planner guards keep a claim's cost independent of the backlog (measured with pnpm bench, PostgreSQL 18,
 * claims of 200 while draining a backlog created faster than autovacuum analyses it):
 * - `enable_sort` is off for the claim's transaction. With statistics that predate a burst (or none yet), the
 *   planner expects a handful of due rows, prices walking the index for them like a full scan, and prefers a
 *   bitmap scan of the whole claimable set plus a sort of it: 10 ms CPU per claim at 20,000 pending, 28 ms at
 *   100,000. Without a sort the only plan left is the ordered walk of executions_claimable(_by_type) that stops at
 *   the LIMIT: 5 ms at either size. The sorts of the few rows picked across types and of the claimed rows by id are
 *   unaffected (they have no alternative).
 * - the UPDATEs and the final join find their rows by primary key (`id = ANY(ARRAY(...))`); joined `FROM
 *   picked`, the planner chose seq scans of executions and jobs with hash joins (three full scans per claim).
 */
export async function claimExecutions(db: Db, claim: Claim, at: Date | null = null): Promise<ClaimedRow[]> {
  return db.transaction().execute(async (trx) => {
    // lock_timeout: executions are taken with SKIP LOCKED, but their jobs rows are updated plainly; a claim must
    // never wait long on a job row another (perhaps dying) transaction holds, or every long-poll of this replica
    // waits behind it. It fails instead, and the waiters are served on the next wake-up.
    await sql`SELECT set_config('enable_sort', 'off', true), set_config('lock_timeout', '2s', true)`.execute(
      trx,
    );
    const { rows } = await claimStatement(claim, at).execute(trx);
    return rows;
  });
}

/**
 * The claim itself (see claimExecutions). `picked` walks executions_claimable_by_type once per type the runner
 * serves (a LATERAL over its types), in claim order, locking up to `max` of each with SKIP LOCKED, then keeps the
 * first `max` over all types: a claim never walks another type's backlog (issue 10, defect 6). Rows of a type
 * locked but not kept stay locked only until this statement's transaction ends.
 */
export function claimStatement({ runnerId, types, max, leaseMs, maxBytes }: Claim, at: Date | null = null) {
  const now = atOrNow(at);
  return sql<ClaimedRow>`
    WITH picked AS (
      SELECT c.id, c.job_id, c.priority, c.scheduled_for FROM unnest(${types as string[]}::text[]) AS t(type)
      CROSS JOIN LATERAL (
        SELECT e.id, e.job_id, e.priority, e.scheduled_for FROM executions e
        WHERE e.status = 'PENDING' AND e.ready AND e.job_type = t.type AND e.scheduled_for <= ${now}
        ORDER BY e.priority DESC, e.scheduled_for, e.id
        LIMIT ${max}
        FOR UPDATE SKIP LOCKED
      ) c
      ORDER BY c.priority DESC, c.scheduled_for, c.id
      LIMIT ${max}
    ),
    -- The answer is bounded in bytes too (issue 10, defect 10): picked rows are kept, in claim order, while their
    -- payloads add up to at most maxBytes; the first is always kept, so a payload larger than the budget still
    -- runs. Rows picked but not kept stay PENDING (locked only until this transaction ends).
    kept AS (
      SELECT id FROM (
        SELECT p.id, row_number() OVER w AS n,
               sum((SELECT octet_length(j.payload::text) FROM jobs j WHERE j.id = p.job_id)) OVER w AS bytes
        FROM picked p
        WINDOW w AS (ORDER BY p.priority DESC, p.scheduled_for, p.id ROWS UNBOUNDED PRECEDING)
      ) s
      WHERE n = 1 OR bytes <= ${maxBytes}
    ),
    claimed AS (
      UPDATE executions e
      SET status = 'RUNNING', runner_id = ${runnerId}, claimed_at = ${now},
          lease_expires_at = ${now} + ${leaseMs} * interval '1 millisecond'
      WHERE e.id = ANY(ARRAY(SELECT id FROM kept))
      RETURNING e.id, e.job_id, e.job_type, e.attempt, e.scheduled_for, e.lease_expires_at, e.occurrence_id
    ),
    -- The claim's events, one INSERT … SELECT for the whole batch (see record-events.ts).
    claimed_events AS (
      INSERT INTO ${OUTBOX}
      SELECT 'execution.claimed', ${now}, job_id, id, ${runnerId}::text, job_type, jsonb_build_object('attempt', attempt)
      FROM claimed
    ),
    running_jobs AS (
      UPDATE jobs j SET status = 'RUNNING', updated_at = ${now}
      WHERE j.id = ANY(ARRAY(SELECT job_id FROM claimed)) AND j.status = 'SCHEDULED'
    )
    SELECT c.*, j.payload, j.max_attempts, j.timeout_ms
    FROM claimed c JOIN jobs j ON j.id = c.job_id
    WHERE j.id = ANY(ARRAY(SELECT job_id FROM claimed))
    ORDER BY c.id
  `;
}
