import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import type { PlannedOccurrence } from '../schedules/plan-occurrences.js';
import { isoTime, outboxInsert } from './record-events.js';
import { atOrNow } from './timing.js';

export interface DueRecurringJob {
  id: number;
  type: string;
  priority: number;
  kind: 'cron' | 'interval';
  schedule_expression: string | null;
  timezone: string | null;
  interval_seconds: number | null;
  run_at: Date;
  next_run_at: Date;
  overlap_policy: 'skip' | 'allow' | 'queue';
  catch_up_policy: 'fire_once' | 'fire_all' | 'skip';
  /** An earlier occurrence still pending or running. */
  busy: boolean;
  /** The job's latest occurrence row, when it is SKIPPED (a skipped run may go on): its key, reason and last. */
  skipped_from: Date | null;
  skipped_reason: string | null;
  skipped_until: Date | null;
  /** The database's now(), the clock occurrences are judged by. */
  now: Date;
}

/**
 * Locks recurring jobs whose next occurrence is due. SKIP LOCKED: each replica's scheduler takes different
 * jobs, and a job is planned by one replica at a time; the occurrences' primary key makes a second planning of
 * the same occurrence (after a crash between steps, say) a no-op.
 */
export async function lockDueRecurringJobs(
  trx: Db,
  limit: number,
  at: Date | null = null,
): Promise<DueRecurringJob[]> {
  const now = atOrNow(at);
  const { rows } = await sql<DueRecurringJob>`
    SELECT j.id, j.type, j.priority, j.kind, j.schedule_expression, j.timezone, j.interval_seconds, j.run_at,
           j.next_run_at, j.overlap_policy, j.catch_up_policy, ${now} AS now,
           EXISTS (SELECT 1 FROM executions e WHERE e.job_id = j.id AND e.status IN ('PENDING', 'RUNNING')) AS busy,
           latest.scheduled_for AS skipped_from, latest.reason AS skipped_reason, latest.until AS skipped_until
    FROM jobs j
    LEFT JOIN LATERAL (
      SELECT o.scheduled_for, o.reason, coalesce(o.last_scheduled_for, o.scheduled_for) AS until, o.status
      FROM occurrences o WHERE o.job_id = j.id ORDER BY o.scheduled_for DESC LIMIT 1
    ) latest ON latest.status = 'SKIPPED'
    WHERE j.kind <> 'once' AND j.next_run_at <= ${now} AND j.status IN ('SCHEDULED', 'RUNNING')
    ORDER BY j.next_run_at
    LIMIT ${limit}
    FOR UPDATE OF j SKIP LOCKED
  `.execute(trx);
  return rows;
}

/**
 * Records planned occurrences (each once: ON CONFLICT DO NOTHING on (job_id, scheduled_for)), creates the
 * executions of those that run, and moves the job's next_run_at on. A skipped run is one row (first and last
 * occurrence, and how many); with `extendSkippedAt` (the job's latest row, which the first planned run goes on
 * from) that row grows instead. Returns the due times of new executions.
 */
export async function recordOccurrences(
  trx: Db,
  job: Pick<DueRecurringJob, 'id' | 'type' | 'priority'>,
  planned: PlannedOccurrence[],
  nextRunAt: Date | null,
  extendSkippedAt: Date | null,
  at: Date | null = null,
): Promise<Date[]> {
  let created: Date[] = [];
  if (planned.length > 0) {
    const { rows } = await sql<{ scheduled_for: Date; status: string }>`
      WITH planned AS (
        SELECT * FROM unnest(${planned.map((p) => p.scheduledFor.toISOString())}::timestamptz[],
                             ${planned.map((p) => p.lastScheduledFor.toISOString())}::timestamptz[],
                             ${planned.map((p) => p.count)}::int[], ${planned.map((p) => p.status)}::text[],
                             ${planned.map((p) => p.reason)}::text[])
                      WITH ORDINALITY AS x(first_at, last_at, n, status, reason, ord)
      ), extended AS (
        UPDATE occurrences o
        SET occurrence_count = o.occurrence_count + p.n, last_scheduled_for = p.last_at
        FROM planned p
        WHERE p.ord = 1 AND p.status = 'SKIPPED' AND o.job_id = ${job.id}
          AND o.scheduled_for = ${extendSkippedAt?.toISOString() ?? null}::timestamptz
          AND o.status = 'SKIPPED' AND o.reason IS NOT DISTINCT FROM p.reason
          AND coalesce(o.last_scheduled_for, o.scheduled_for) < p.first_at
        RETURNING p.ord
      )
      INSERT INTO occurrences (job_id, scheduled_for, status, reason, occurrence_count, last_scheduled_for)
      SELECT ${job.id}, p.first_at, p.status, p.reason, p.n, CASE WHEN p.n > 1 THEN p.last_at END
      FROM planned p
      WHERE p.ord NOT IN (SELECT ord FROM extended)
      ON CONFLICT (job_id, scheduled_for) DO NOTHING
      RETURNING scheduled_for, status
    `.execute(trx);
    created = rows.filter((r) => r.status === 'CREATED').map((r) => r.scheduled_for);
    if (created.length > 0) await createOccurrenceExecutions(trx, job, created, at);
  }
  await sql`
    UPDATE jobs SET next_run_at = ${nextRunAt?.toISOString() ?? null}::timestamptz, updated_at = ${atOrNow(at)}
    WHERE id = ${job.id}
  `.execute(trx);
  return created;
}

/** Attempt 1 of each occurrence, claimable at its time, linked from the occurrence row; schedule.occurrence events. */
export async function createOccurrenceExecutions(
  trx: Db,
  job: Pick<DueRecurringJob, 'id' | 'type' | 'priority'>,
  times: Date[],
  at: Date | null = null,
): Promise<void> {
  await sql`
    WITH ex AS (
      INSERT INTO executions (job_id, job_type, priority, attempt, ready, scheduled_for, occurrence_id, queue,
                              concurrency_key)
      SELECT ${job.id}, ${job.type}, ${job.priority}, 1, true, t, nextval('executions_occurrence_seq'), j.queue,
             coalesce(j.concurrency_key, '')
      FROM unnest(${times.map((t) => t.toISOString())}::timestamptz[]) AS x(t), jobs j
      WHERE j.id = ${job.id}
      RETURNING id, scheduled_for, occurrence_id
    ),
    ${occurrenceEvents(job, at)}
    UPDATE occurrences o SET execution_id = ex.id, status = 'CREATED', reason = NULL
    FROM ex WHERE o.job_id = ${job.id} AND o.scheduled_for = ex.scheduled_for
  `.execute(trx);
}

/** A schedule.occurrence event per execution of the CTE `ex` (id, scheduled_for, occurrence_id). */
const occurrenceEvents = (job: { id: number; type: string }, at: Date | null, started?: 'queued') => sql`
  occurrence_events AS (
    ${outboxInsert(sql`
      SELECT 'schedule.occurrence', ${atOrNow(at)}, ${job.id}::bigint, id, NULL, ${job.type}::text,
             jsonb_build_object('scheduledFor', ${isoTime(sql`scheduled_for`)}, 'occurrenceId', occurrence_id,
                                'afterQueue', ${started === 'queued'}::boolean)
      FROM ex
    `)}
  )`;

/** Jobs with an occurrence queued (overlap `queue`) and nothing pending or running any more. */
export async function jobsWithRunnableQueue(db: Db, limit: number): Promise<number[]> {
  const { rows } = await sql<{ job_id: number }>`
    SELECT DISTINCT o.job_id FROM occurrences o JOIN jobs j ON j.id = o.job_id
    WHERE o.status = 'QUEUED' AND j.status IN ('SCHEDULED', 'RUNNING')
      AND NOT EXISTS (SELECT 1 FROM executions e WHERE e.job_id = o.job_id AND e.status IN ('PENDING', 'RUNNING'))
    LIMIT ${limit}
  `.execute(db);
  return rows.map((r) => r.job_id);
}

/**
 * Starts the oldest queued occurrence of a job, if the job is still idle: under the job's row lock, so only one
 * replica does it. It runs now (its own time has passed while it waited). Returns true when one started.
 */
export async function startQueuedOccurrence(
  trx: Db,
  jobId: number,
  at: Date | null = null,
): Promise<boolean> {
  const { rows } = await sql<{ type: string; priority: number; scheduled_for: Date }>`
    SELECT j.type, j.priority, o.scheduled_for
    FROM jobs j JOIN occurrences o ON o.job_id = j.id AND o.status = 'QUEUED'
    WHERE j.id = ${jobId} AND j.status IN ('SCHEDULED', 'RUNNING')
      AND NOT EXISTS (SELECT 1 FROM executions e WHERE e.job_id = j.id AND e.status IN ('PENDING', 'RUNNING'))
    ORDER BY o.scheduled_for
    LIMIT 1
    FOR UPDATE OF j SKIP LOCKED
  `.execute(trx);
  const next = rows[0];
  if (!next) return false;
  await sql`
    WITH ex AS (
      INSERT INTO executions (job_id, job_type, priority, attempt, ready, scheduled_for, occurrence_id, queue,
                              concurrency_key)
      SELECT ${jobId}, ${next.type}, ${next.priority}, 1, true, ${atOrNow(at)}, nextval('executions_occurrence_seq'),
             j.queue, coalesce(j.concurrency_key, '')
      FROM jobs j WHERE j.id = ${jobId}
      RETURNING id, scheduled_for, occurrence_id
    ),
    ${occurrenceEvents({ id: jobId, type: next.type }, at, 'queued')}
    UPDATE occurrences SET status = 'CREATED', reason = 'ran after the previous occurrence finished',
           execution_id = (SELECT id FROM ex)
    WHERE job_id = ${jobId} AND scheduled_for = ${next.scheduled_for}
  `.execute(trx);
  return true;
}

/** Milliseconds until the earliest next occurrence of any active recurring job (the database's clock). */
export async function msUntilNextOccurrence(db: Db): Promise<number | undefined> {
  const { rows } = await sql<{ ms: number | null }>`
    SELECT (extract(epoch FROM min(next_run_at) - now()) * 1000)::float8 AS ms
    FROM jobs WHERE kind <> 'once' AND next_run_at IS NOT NULL AND status IN ('SCHEDULED', 'RUNNING')
  `.execute(db);
  const ms = rows[0]?.ms;
  // A hair after the due time, so the occurrence is due (not a microsecond early) when the tick looks.
  return ms === null || ms === undefined ? undefined : ms + 2;
}
