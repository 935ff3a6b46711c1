import type { EventKind } from '@hourglass/contracts';
import { type RawBuilder, sql } from 'kysely';
import type { Db } from '../db/database.js';
import { atOrNow } from './timing.js';

/**
 * Writing events (issue 13). Events go to `event_outbox` in the transaction of the change they describe, so an
 * event exists exactly when its change committed; the sequencer numbers them later (see 0012_events.sql). Set-based
 * statements (claims, reports, retries, creates) insert theirs in a CTE of the same statement, from the rows they
 * changed, through `outboxInsert`. Commands on one job and runner changes, which are rare, use `recordEvents`.
 */

/**
 * An INSERT of the events a SELECT yields (columns in this order: kind, at, job_id, execution_id, runner_id,
 * job_type, data) as ONE outbox row holding them all, in the SELECT's order; no row when it yields none.
 *
 * One row per statement, not per event (issue 15): a claim or report of 200 wrote 200 outbox rows that the
 * sequencer then deleted, two heap writes per event that only carried the event to `events` (a quarter of the WAL a
 * job wrote). The sequencer unnests the array in order (sequence-events.ts).
 */
export function outboxInsert(select: RawBuilder<unknown>) {
  return sql`
    INSERT INTO event_outbox (events, n)
    SELECT array_agg(ROW(x.kind::text, x.at::timestamptz, x.job_id::bigint, x.execution_id::bigint,
                         x.runner_id::text, x.job_type::text, x.data::jsonb)::outbox_event), count(*)
    FROM (${select}) AS x(kind, at, job_id, execution_id, runner_id, job_type, data)
    HAVING count(*) > 0`;
}

export interface NewEvent {
  kind: EventKind;
  jobId?: number | null;
  executionId?: number | null;
  runnerId?: string | null;
  jobType?: string | null;
  data?: Record<string, unknown>;
}

/** Writes events in the caller's transaction, in one statement. */
export async function recordEvents(trx: Db, events: NewEvent[], at: Date | null = null): Promise<void> {
  if (events.length === 0) return;
  const rows = events.map((e) => ({
    kind: e.kind,
    job_id: e.jobId ?? null,
    execution_id: e.executionId ?? null,
    runner_id: e.runnerId ?? null,
    job_type: e.jobType ?? null,
    data: e.data ?? {},
  }));
  await sql`
    ${outboxInsert(sql`
      SELECT kind, ${atOrNow(at)}, job_id, execution_id, runner_id, job_type, coalesce(data, '{}')
      FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb)
        AS x(kind text, job_id bigint, execution_id bigint, runner_id text, job_type text, data jsonb)
    `)}
  `.execute(trx);
}

/** A timestamp as the API prints it (ISO-8601, UTC, milliseconds, `Z`), for JSON built in SQL. */
export const isoTime = (t: RawBuilder<unknown>) =>
  sql`to_char(${t} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** Attempts and backoff of a completion callback's delivery: about 17 minutes of retries, spread out. */
export const CALLBACK_DELIVERY = { maxAttempts: 10, backoffInitialMs: 1_000, factor: 2, maxMs: 600_000 };

/**
 * Completion callbacks (issue 13): CTEs that create, for every job in the CTE named `final` that reached a final
 * state and has a callback_url, a job of the built-in `webhook` type POSTing the job to that URL (runners deliver
 * it: signature, outbound policy, retries with backoff), with its first execution and its `job.created` event.
 * `final` has the columns id, type, status, callback_url, callbacks_sent (already counting this delivery),
 * finished_at, result, error, attempts; its rows with a non-final status or no URL are ignored.
 *
 * The n-th final state of a job is delivered under the key `callback-<id>` (n = 1) or `callback-<id>-<n>`: the same
 * on every attempt of one delivery (the receiver can drop duplicates), a new one when a requeued or triggered job
 * ends again. The key is also the delivery job's idempotency key, so one final state can never create two.
 * The last CTE, `callback_executions`, returns the new executions (id, job_id, scheduled_for).
 */
export function callbackCtes(final: string, now: RawBuilder<unknown>) {
  const f = sql.ref(final);
  return sql`
    callback_jobs AS (
      INSERT INTO jobs (type, payload, max_attempts, backoff_initial_ms, backoff_factor, backoff_max_ms,
                        backoff_jitter, run_at, idempotency_key, kind)
      SELECT 'webhook',
             jsonb_build_object('url', f.callback_url, 'raw', true, 'idempotencyKey', k.key,
               'payload', jsonb_build_object('id', f.id, 'type', f.type, 'status', f.status, 'result', f.result,
                 'error', f.error, 'attempts', f.attempts, 'finishedAt', ${isoTime(sql`f.finished_at`)})),
             ${CALLBACK_DELIVERY.maxAttempts}::int, ${CALLBACK_DELIVERY.backoffInitialMs}::int,
             ${CALLBACK_DELIVERY.factor}::float8, ${CALLBACK_DELIVERY.maxMs}::int, true, ${now}, k.key, 'once'
      FROM ${f} f
      CROSS JOIN LATERAL (SELECT 'callback-' || f.id
                                 || CASE WHEN f.callbacks_sent > 1 THEN '-' || f.callbacks_sent ELSE '' END AS key) k
      WHERE f.callback_url IS NOT NULL AND f.status IN ('SUCCEEDED', 'FAILED', 'CANCELLED')
      ON CONFLICT (idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
      RETURNING id, type, run_at, idempotency_key
    ),
    callback_created_events AS (
      ${outboxInsert(sql`
        SELECT 'job.created', ${now}, id, NULL, NULL, type,
               jsonb_build_object('status', 'SCHEDULED', 'kind', 'once', 'callbackFor', split_part(idempotency_key, '-', 2)::bigint)
        FROM callback_jobs
      `)}
    ),
    callback_executions AS (
      INSERT INTO executions (job_id, job_type, priority, attempt, ready, scheduled_for, one_shot)
      SELECT id, type, 0, 1, true, run_at, true FROM callback_jobs
      RETURNING id, job_id, scheduled_for
    )`;
}

/**
 * Callbacks for jobs a single command made final (a cancel): counts the delivery on the job and creates it (see
 * callbackCtes). Returns the due times of the deliveries created.
 */
export async function enqueueCallbacks(trx: Db, jobIds: number[], at: Date | null = null): Promise<Date[]> {
  if (jobIds.length === 0) return [];
  const now = atOrNow(at);
  const { rows } = await sql<{ scheduled_for: Date }>`
    WITH final AS (
      UPDATE jobs SET callbacks_sent = callbacks_sent + 1
      WHERE id = ANY(${jobIds}::bigint[]) AND callback_url IS NOT NULL
        AND status IN ('SUCCEEDED', 'FAILED', 'CANCELLED')
      RETURNING id, type, status, callback_url, callbacks_sent, finished_at, NULL::jsonb AS result,
                (SELECT e.error FROM executions e WHERE e.job_id = jobs.id ORDER BY e.id DESC LIMIT 1) AS error,
                (SELECT max(e.attempt) FROM executions e WHERE e.job_id = jobs.id) AS attempts
    ),
    ${callbackCtes('final', now)}
    SELECT scheduled_for FROM callback_executions
  `.execute(trx);
  return rows.map((r) => r.scheduled_for);
}
