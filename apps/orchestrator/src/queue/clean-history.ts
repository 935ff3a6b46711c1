import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import { atOrNow } from './timing.js';

/** How long finished work is kept, in seconds (see config.ts, RETENTION_*). */
export interface Retention {
  succeeded: number;
  cancelled: number;
  failed: number;
  /** A dead letter not requeued: null keeps it (and its job) until it is requeued or its job deleted. */
  deadLetters: number | null;
  skippedOccurrences: number;
  offlineRunners: number;
  /** Events of the stream (issue 13), by their time. */
  events: number;
}

/**
 * The statements of the cleaner (loops/cleaner.ts). Each deletes at most `batch` rows, oldest first, taken with
 * SKIP LOCKED: every replica may clean at once without waiting on another or deleting a row twice, and a row a
 * claim or a command holds is left for the next round. Returns how many rows it deleted.
 *
 * What is never deleted: a job with an open (PENDING or RUNNING) execution, a job or execution that a dead letter
 * still kept by retention refers to, a recurring job's definition, a job whose dependents have not finished (flows).
 */

/**
 * A job (`by: 'job_id'`) or an execution (`by: 'execution_id'`) kept by a dead letter that is neither requeued nor
 * past its own retention.
 */
const keptByDeadLetter = (
  by: 'job_id' | 'execution_id',
  id: ReturnType<typeof sql>,
  retention: Retention,
  now: ReturnType<typeof sql>,
) => sql`
  EXISTS (SELECT 1 FROM dead_letters d WHERE ${sql.ref(`d.${by}`)} = ${id} AND d.requeued_at IS NULL
          AND (${retention.deadLetters}::bigint IS NULL
               OR d.created_at >= ${now} - ${retention.deadLetters}::bigint * interval '1 second'))`;

/**
 * Runs a cleaning statement with nested loops only. Each statement walks an index oldest first and checks a few
 * conditions per row until it has a batch; with hash joins allowed, the planner (expecting most rows to qualify)
 * anti-joined every expired row against every open execution and sorted the result: 2 s per batch of 1,000 at a
 * million rows of history, against 0.1 s this way (pnpm bench --scenario backlog, EXPLAIN ANALYZE).
 */
function walkingIndexes<T>(db: Db, statement: (trx: Db) => Promise<T>): Promise<T> {
  return db.transaction().execute(async (trx) => {
    await sql`
      SELECT set_config('enable_hashjoin', 'off', true), set_config('enable_mergejoin', 'off', true),
             set_config('enable_sort', 'off', true)
    `.execute(trx);
    return statement(trx);
  });
}

/**
 * A job some unfinished job depends on (flows): kept, so that its dependents, when they run (or run again), still find
 * its result in their claim. has_dependents first: other jobs never read the edges.
 */
const neededByDependents = (jobId: ReturnType<typeof sql>, hasDependents: ReturnType<typeof sql>) => sql`
  (${hasDependents} AND EXISTS (SELECT 1 FROM job_dependencies d JOIN jobs c ON c.id = d.job_id
                                WHERE d.parent_id = ${jobId} AND c.status IN ('WAITING', 'SCHEDULED', 'RUNNING')))`;

const hasOpenExecution = (jobId: ReturnType<typeof sql>) => sql`
  EXISTS (SELECT 1 FROM executions e WHERE e.job_id = ${jobId} AND e.status IN ('PENDING', 'RUNNING'))`;

/**
 * One-shot jobs finished longer ago than their status's retention (or their own), with their executions,
 * occurrences and dead letters (ON DELETE CASCADE).
 */
export async function deleteExpiredJobs(
  db: Db,
  retention: Retention,
  batch: number,
  at: Date | null = null,
): Promise<number> {
  const now = atOrNow(at);
  const { rows } = await walkingIndexes(db, (trx) =>
    sql<{ id: number }>`
    WITH by_status AS (
      SELECT j.id FROM unnest(ARRAY['SUCCEEDED', 'CANCELLED', 'FAILED'],
                              ARRAY[${retention.succeeded}, ${retention.cancelled}, ${retention.failed}]::bigint[])
             AS r(status, seconds)
      CROSS JOIN LATERAL (
        SELECT j.id FROM jobs j
        WHERE j.kind = 'once' AND j.finished_at IS NOT NULL AND j.retention_seconds IS NULL AND NOT j.keep_forever
          AND j.status = r.status AND j.finished_at < ${now} - r.seconds * interval '1 second'
          AND NOT ${hasOpenExecution(sql`j.id`)} AND NOT ${keptByDeadLetter('job_id', sql`j.id`, retention, now)}
          AND NOT ${neededByDependents(sql`j.id`, sql`j.has_dependents`)}
        ORDER BY j.finished_at
        LIMIT ${batch}
        FOR UPDATE SKIP LOCKED
      ) j
    ),
    own AS (
      SELECT j.id FROM jobs j
      WHERE j.kind = 'once' AND j.finished_at IS NOT NULL AND j.retention_seconds IS NOT NULL AND NOT j.keep_forever
        AND j.finished_at < ${now} - j.retention_seconds * interval '1 second'
        AND NOT ${hasOpenExecution(sql`j.id`)} AND NOT ${keptByDeadLetter('job_id', sql`j.id`, retention, now)}
        AND NOT ${neededByDependents(sql`j.id`, sql`j.has_dependents`)}
      ORDER BY j.finished_at
      LIMIT ${batch}
      FOR UPDATE SKIP LOCKED
    )
    DELETE FROM jobs WHERE id IN (SELECT id FROM by_status UNION SELECT id FROM own)
    RETURNING id
  `.execute(trx),
  );
  return rows.length;
}

/** Finished executions of recurring jobs older than their status's retention (their job's own, if it has one). */
export async function deleteExpiredRecurringExecutions(
  db: Db,
  retention: Retention,
  batch: number,
  at: Date | null = null,
): Promise<number> {
  const now = atOrNow(at);
  const { rows } = await walkingIndexes(db, (trx) =>
    sql<{ id: number }>`
    WITH doomed AS (
      SELECT e.id FROM executions e JOIN jobs j ON j.id = e.job_id
      WHERE NOT e.one_shot AND e.finished_at IS NOT NULL AND NOT j.keep_forever
        AND e.finished_at < ${now} - coalesce(j.retention_seconds, CASE e.status
              WHEN 'SUCCEEDED' THEN ${retention.succeeded}::bigint
              WHEN 'CANCELLED' THEN ${retention.cancelled}::bigint
              ELSE ${retention.failed}::bigint END) * interval '1 second'
        AND NOT ${keptByDeadLetter('execution_id', sql`e.id`, retention, now)}
      ORDER BY e.finished_at
      LIMIT ${batch}
      FOR UPDATE OF e SKIP LOCKED
    )
    DELETE FROM executions WHERE id IN (SELECT id FROM doomed)
    RETURNING id
  `.execute(trx),
  );
  return rows.length;
}

/**
 * Occurrences of recurring jobs: skipped runs past RETENTION_SKIPPED_OCCURRENCES, and created ones once past the
 * longest execution retention (their executions are gone by then). Queued ones wait to run and are kept.
 */
export async function deleteExpiredOccurrences(
  db: Db,
  retention: Retention,
  batch: number,
  at: Date | null = null,
): Promise<number> {
  const now = atOrNow(at);
  const longest = Math.max(retention.succeeded, retention.cancelled, retention.failed);
  const { rows } = await sql<{ job_id: number }>`
    WITH doomed AS (
      SELECT o.job_id, o.scheduled_for FROM occurrences o
      WHERE o.status <> 'QUEUED'
        AND coalesce(o.last_scheduled_for, o.scheduled_for) < ${now} - CASE o.status
              WHEN 'SKIPPED' THEN ${retention.skippedOccurrences}::bigint ELSE ${longest}::bigint END
            * interval '1 second'
      ORDER BY o.scheduled_for
      LIMIT ${batch}
      FOR UPDATE SKIP LOCKED
    )
    DELETE FROM occurrences o USING doomed d
    WHERE o.job_id = d.job_id AND o.scheduled_for = d.scheduled_for
    RETURNING o.job_id
  `.execute(db);
  return rows.length;
}

/** Runners OFFLINE for longer than RETENTION_OFFLINE_RUNNERS (a new row per runner process otherwise piles up). */
export async function deleteOfflineRunners(
  db: Db,
  retention: Retention,
  batch: number,
  at: Date | null = null,
): Promise<number> {
  const now = atOrNow(at);
  const { rows } = await sql<{ id: string }>`
    WITH doomed AS (
      SELECT id FROM runners
      WHERE status = 'OFFLINE' AND last_heartbeat_at < ${now} - ${retention.offlineRunners}::bigint * interval '1 second'
      ORDER BY last_heartbeat_at
      LIMIT ${batch}
      FOR UPDATE SKIP LOCKED
    )
    DELETE FROM runners WHERE id IN (SELECT id FROM doomed)
    RETURNING id
  `.execute(db);
  return rows.length;
}

/**
 * Events older than RETENTION_EVENTS. Ids follow time (the sequencer numbers events as their transactions commit),
 * so the oldest events are the lowest ids: a batch takes the lowest `batch` ids and deletes those past retention,
 * by the primary key (no index on `at`, which every event would pay for). An event numbered late (after an outage
 * of every sequencer) goes with its neighbours. Events refer to jobs by id only, so a job's events outlive it (its
 * `job.deleted` is among them) until they age out themselves.
 */
export async function deleteExpiredEvents(
  db: Db,
  retention: Retention,
  batch: number,
  at: Date | null = null,
): Promise<number> {
  const now = atOrNow(at);
  const { rows } = await sql<{ id: number }>`
    WITH oldest AS (
      SELECT id, at FROM events ORDER BY id LIMIT ${batch} FOR UPDATE SKIP LOCKED
    ),
    doomed AS (
      SELECT id FROM oldest WHERE at < ${now} - ${retention.events}::bigint * interval '1 second'
    )
    DELETE FROM events WHERE id = ANY(ARRAY(SELECT id FROM doomed))
    RETURNING id
  `.execute(db);
  return rows.length;
}

/** Deletes one job and its history (its executions, occurrences and dead letters go with it). */
export async function deleteJobRow(trx: Db, jobId: number): Promise<void> {
  await sql`DELETE FROM jobs WHERE id = ${jobId}`.execute(trx);
}

export interface PurgeFilter {
  status?: 'SUCCEEDED' | 'FAILED' | 'CANCELLED';
  type?: string;
  finishedBefore: Date;
}

/**
 * An operator's purge: up to `batch` finished jobs matching the filter, oldest first, with their history; dead
 * letters go too (the operator asked for it). A recurring job is purged only once CANCELLED; a job with an open
 * execution never is.
 */
export async function purgeJobs(db: Db, filter: PurgeFilter, batch: number): Promise<number> {
  const { rows } = await walkingIndexes(db, (trx) =>
    sql<{ id: number }>`
    WITH doomed AS (
      SELECT j.id FROM jobs j
      WHERE j.finished_at IS NOT NULL AND j.finished_at < ${filter.finishedBefore.toISOString()}::timestamptz
        AND j.status IN ('SUCCEEDED', 'FAILED', 'CANCELLED')
        AND (${filter.status ?? null}::text IS NULL OR j.status = ${filter.status ?? null})
        AND (${filter.type ?? null}::text IS NULL OR j.type = ${filter.type ?? null})
        AND NOT ${hasOpenExecution(sql`j.id`)}
      ORDER BY j.finished_at
      LIMIT ${batch}
      FOR UPDATE SKIP LOCKED
    )
    DELETE FROM jobs WHERE id IN (SELECT id FROM doomed)
    RETURNING id
  `.execute(trx),
  );
  return rows.length;
}
