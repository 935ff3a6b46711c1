import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import { callbackCtes, isoTime, outboxInsert } from './record-events.js';
import { atOrNow, READY_HORIZON_MS } from './timing.js';

export interface RetryRow {
  job_id: number;
  execution_id: number;
  scheduled_for: Date;
  ready: boolean;
}

/**
 * Consequences of failed attempts (FAILED, TIMED_OUT, or CANCELLED without the job being cancelled), set-based
 * and inside the caller's transaction:
 * - attempts left: the next attempt is inserted after exponential backoff,
 *   `min(initial × factor^(attempt−1), max)`, optionally jittered over [delay/2, delay]; the job goes back to
 *   SCHEDULED;
 * - none left (or the runner reported the failure as permanent): the last execution is dead-lettered, and a
 *   one-shot job is FAILED (a recurring one goes on).
 * A cancelled or paused job gets neither. Returns the retries it scheduled (so the caller can wake claimers), and the
 * one-shot jobs it made FAILED that have dependents (the caller settles them in the same transaction).
 */
export async function retryOrDeadLetter(
  trx: Db,
  executionIds: number[],
  at: Date | null = null,
): Promise<{ retries: RetryRow[]; failedParents: number[] }> {
  if (executionIds.length === 0) return { retries: [], failedParents: [] };
  const now = atOrNow(at);
  const { rows } = await sql<RetryRow & { failed_parent: boolean }>`
    WITH failed AS (
      SELECT e.id, e.job_id, e.job_type, e.attempt, e.error, e.one_shot, e.occurrence_id, j.priority, e.queue,
             e.concurrency_key,
             -- A failure reported as permanent has no attempts left, whatever the budget.
             CASE WHEN e.retryable IS FALSE THEN e.attempt ELSE j.max_attempts END AS max_attempts,
             least(j.backoff_max_ms, j.backoff_initial_ms * power(j.backoff_factor, e.attempt - 1))
               * CASE WHEN j.backoff_jitter THEN 0.5 + random() * 0.5 ELSE 1 END AS delay_ms
      FROM executions e JOIN jobs j ON j.id = e.job_id
      -- A cancelled job is over; a paused one runs nothing until resumed (its failed occurrence is not retried).
      WHERE e.id = ANY(${executionIds}::bigint[]) AND j.status NOT IN ('CANCELLED', 'PAUSED')
    ),
    retries AS (
      INSERT INTO executions (job_id, job_type, priority, attempt, ready, scheduled_for, one_shot, occurrence_id, queue,
                              concurrency_key)
      SELECT job_id, job_type, priority, attempt + 1, delay_ms <= ${READY_HORIZON_MS},
             ${now} + delay_ms * interval '1 millisecond', one_shot, occurrence_id, queue, concurrency_key
      FROM failed WHERE attempt < max_attempts
      RETURNING job_id, id AS execution_id, scheduled_for, ready, job_type, attempt
    ),

    dead AS (
      INSERT INTO dead_letters (job_id, execution_id, job_type, attempts, error, created_at)
      SELECT job_id, id, job_type, attempt, error, ${now} FROM failed WHERE attempt >= max_attempts
      RETURNING id, job_id, execution_id, job_type, attempts, error
    ),
    -- One UPDATE per job (two CTEs updating one row would apply only one of them): a one-shot job out of
    -- attempts is FAILED; otherwise the job waits (SCHEDULED) for its retry or, if recurring, its next
    -- occurrence: a recurring job never ends FAILED, its exhausted occurrence is in the dead-letter queue.
    job_updates AS (
      UPDATE jobs j
      SET status = CASE
            WHEN j.kind = 'once' AND j.id IN (SELECT job_id FROM dead) THEN 'FAILED'
            WHEN EXISTS (SELECT 1 FROM executions e WHERE e.job_id = j.id AND e.status = 'RUNNING') THEN 'RUNNING'
            ELSE 'SCHEDULED' END,
          finished_at = CASE WHEN j.kind = 'once' AND j.id IN (SELECT job_id FROM dead) THEN ${now} ELSE j.finished_at END,
          callbacks_sent = j.callbacks_sent + CASE WHEN j.kind = 'once' AND j.id IN (SELECT job_id FROM dead)
                                                     AND j.callback_url IS NOT NULL THEN 1 ELSE 0 END,
          updated_at = ${now}
      -- By primary key (see running_jobs in claim-executions.ts for why the status test is wrapped).
      WHERE j.id = ANY(ARRAY(SELECT job_id FROM failed)) AND (j.status IN ('RUNNING', 'SCHEDULED')) IS TRUE
      RETURNING j.id, j.type, j.status, j.callback_url, j.callbacks_sent, j.finished_at, j.has_dependents
    ),
    -- The events of the batch, one INSERT … SELECT (see record-events.ts).
    retry_events AS (
      ${outboxInsert(sql`
        SELECT 'execution.retry_scheduled', ${now}, job_id, execution_id, NULL, job_type,
               jsonb_build_object('attempt', attempt, 'scheduledFor', ${isoTime(sql`scheduled_for`)})
        FROM retries
        UNION ALL
        SELECT 'job.dead_lettered', ${now}, job_id, execution_id, NULL, job_type,
               jsonb_build_object('deadLetterId', id, 'attempts', attempts, 'error', error)
        FROM dead
        UNION ALL
        SELECT 'job.failed', ${now}, id, NULL, NULL, type, jsonb_build_object('status', status)
        FROM job_updates WHERE status = 'FAILED'
      `)}
    ),
    final_jobs AS (
      SELECT u.*, NULL::jsonb AS result, d.error, d.attempts
      FROM job_updates u JOIN dead d ON d.job_id = u.id
      WHERE u.status = 'FAILED' AND u.callback_url IS NOT NULL
    ),
    ${callbackCtes('final_jobs', now)}
    SELECT job_id, execution_id, scheduled_for, ready, false AS failed_parent FROM retries
    UNION ALL
    -- Completion callbacks created here are announced to claimers like retries.
    SELECT c.job_id, c.id, c.scheduled_for, true, false FROM callback_executions c
    UNION ALL
    -- One-shot jobs now FAILED whose dependents must be settled (flows; see settle-dependents.ts).
    SELECT u.id, NULL, NULL, NULL, true FROM job_updates u WHERE u.status = 'FAILED' AND u.has_dependents
  `.execute(trx);
  return {
    retries: rows.filter((r) => !r.failed_parent),
    failedParents: rows.filter((r) => r.failed_parent).map((r) => r.job_id),
  };
}
