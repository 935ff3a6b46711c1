import type { DeadLetter, Execution, Job, Runner } from '@hourglass/contracts';
import type { ActiveExecutionRow } from '../queue/read-executions.js';
import type { OccurrenceRow } from '../queue/read-jobs.js';
import type { DeadLetterRow, ExecutionRow, JobRow, RunnerRow } from '../queue/rows.js';

/** Rows (snake_case, Date) to the API's shapes (camelCase, ISO-8601 UTC strings). */

const iso = (d: Date) => d.toISOString();
const isoOrNull = (d: Date | null) => (d ? d.toISOString() : null);

export function toJob(
  row: JobRow,
  lastExecution?: ExecutionRow | null,
  lastOccurrence?: OccurrenceRow | null,
  /** Its parents' ids, when read (a job with parents, flows). */
  dependsOn?: number[],
): Job {
  return {
    id: row.id,
    type: row.type,
    kind: row.kind,
    schedule:
      row.kind === 'once'
        ? null
        : {
            kind: row.kind,
            scheduleExpression: row.schedule_expression,
            timezone: row.timezone,
            intervalSeconds: row.interval_seconds,
            overlapPolicy: row.overlap_policy,
            catchUpPolicy: row.catch_up_policy,
          },
    nextRunAt: isoOrNull(row.next_run_at),
    payload: row.payload,
    status: row.status as Job['status'],
    priority: row.priority,
    maxAttempts: row.max_attempts,
    backoff: {
      initialDelayMs: row.backoff_initial_ms,
      factor: row.backoff_factor,
      maxDelayMs: row.backoff_max_ms,
      jitter: row.backoff_jitter,
    },
    timeoutMs: row.timeout_ms,
    runAt: iso(row.run_at),
    idempotencyKey: row.idempotency_key,
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
    finishedAt: isoOrNull(row.finished_at),
    retention: row.keep_forever ? 'forever' : row.retention_seconds,
    callbackUrl: row.callback_url ?? null,
    queue: row.queue,
    concurrencyKey: row.concurrency_key,
    uniqueKey: row.unique_key,
    flowId: row.flow_id,
    onParentFailure: row.on_parent_failure,
    ...(dependsOn && dependsOn.length > 0 ? { dependsOn } : {}),
    ...(lastOccurrence
      ? {
          lastOccurrence: {
            scheduledFor: iso(lastOccurrence.scheduled_for),
            status: lastOccurrence.status as 'CREATED' | 'SKIPPED' | 'QUEUED',
            reason: lastOccurrence.reason,
            executionId: lastOccurrence.execution_id,
            count: lastOccurrence.occurrence_count,
            lastScheduledFor: iso(lastOccurrence.last_scheduled_for),
          },
        }
      : {}),
    ...(lastExecution === undefined
      ? {}
      : {
          lastExecution: lastExecution && {
            id: lastExecution.id,
            attempt: lastExecution.attempt,
            status: lastExecution.status,
            scheduledFor: iso(lastExecution.scheduled_for),
            finishedAt: isoOrNull(lastExecution.finished_at),
            error: lastExecution.error,
            errorCode: lastExecution.error_code,
            result: lastExecution.result ?? null,
            progress: lastExecution.progress ?? null,
            progressAt: isoOrNull(lastExecution.progress_at),
          },
        }),
  };
}

export function toExecution(row: ExecutionRow): Execution {
  return {
    id: row.id,
    jobId: row.job_id,
    type: row.job_type,
    attempt: row.attempt,
    status: row.status as Execution['status'],
    scheduledFor: iso(row.scheduled_for),
    createdAt: iso(row.created_at),
    claimedAt: isoOrNull(row.claimed_at),
    startedAt: isoOrNull(row.started_at),
    finishedAt: isoOrNull(row.finished_at),
    runnerId: row.runner_id,
    leaseExpiresAt: isoOrNull(row.lease_expires_at),
    error: row.error,
    errorCode: row.error_code,
    retryable: row.retryable,
    result: row.result ?? null,
    progress: row.progress ?? null,
    progressAt: isoOrNull(row.progress_at),
  };
}

export function toActiveExecution(row: ActiveExecutionRow) {
  return {
    ...toExecution(row),
    runner:
      row.runner_id && row.runner_name
        ? { id: row.runner_id, name: row.runner_name, host: row.runner_host ?? '' }
        : null,
  };
}

export function toRunner(row: RunnerRow & { running: number }): Runner {
  return {
    id: row.id,
    name: row.name,
    host: row.host,
    types: row.types,
    capacity: row.capacity,
    queues: row.queues ?? null,
    status: row.status as Runner['status'],
    running: row.running,
    registeredAt: iso(row.registered_at),
    lastHeartbeatAt: iso(row.last_heartbeat_at),
  };
}

export function toDeadLetter(row: DeadLetterRow): DeadLetter {
  return {
    id: row.id,
    jobId: row.job_id,
    executionId: row.execution_id,
    type: row.job_type,
    attempts: row.attempts,
    error: row.error,
    createdAt: iso(row.created_at),
    requeuedAt: isoOrNull(row.requeued_at),
  };
}

/**
 * A list answer: the next page starts after the last item when this one is full, or ended early because of its
 * size (LIST_MAX_BYTES).
 */
export function page<T extends { id: number }>(items: T[], limit: number, truncated = false) {
  const more = items.length === limit || truncated;
  return { items, nextCursor: more && items.length > 0 ? items[items.length - 1]!.id : null };
}
