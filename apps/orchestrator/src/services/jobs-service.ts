import { type CreateJobBody, DEFAULT_BACKOFF, type ListJobsQuery } from '@hourglass/contracts';
import { checkPayload } from '@hourglass/handlers';
import type { Db } from '../db/database.js';
import { AppError, badRequest, conflict, notFound } from '../http/errors.js';
import { cancelJob } from '../queue/cancel-job.js';
import { insertJobs, type NewJob } from '../queue/insert-jobs.js';
import { listJobExecutions } from '../queue/read-executions.js';
import { findJob, findJobsByIdempotencyKey, lastExecutionOf, listJobs } from '../queue/read-jobs.js';
import type { JobRow } from '../queue/rows.js';
import { READY_HORIZON_MS } from '../queue/timing.js';
import { triggerJob } from '../queue/trigger-job.js';
import type { DbClock } from './db-clock.js';
import { refusedWebhookTarget } from './outbound-check.js';
import type { ReadySignal } from './ready-signal.js';

/** A runAt this far in the past is a mistake, not clock skew between client and server. */
const PAST_RUN_AT_TOLERANCE_MS = 60_000;

export class JobsService {
  constructor(
    private readonly db: Db,
    private readonly signal: ReadySignal,
    private readonly clock: DbClock,
    /** Refuse webhook jobs aimed at private, loopback or link-local addresses when that is known at creation. */
    private readonly blockPrivateTargets = false,
  ) {}

  /**
   * Creates jobs (one request or a batch) in one statement. Jobs whose idempotency key exists come back as the
   * existing job with `created: false`. `fieldName` names fields in errors the way the caller's body does
   * (`jobs.3.payload.x` in a batch, `url` for a timer).
   */
  async create(
    bodies: CreateJobBody[],
    opts: { headerKey?: string; fieldName?: (field: string, i: number) => string } = {},
  ): Promise<{ job: JobRow; created: boolean }[]> {
    const name = opts.fieldName ?? ((field: string) => field);
    const now = this.clock.now();
    const rows: NewJob[] = bodies.map((b, i) => {
      const checked = checkPayload(b.type, b.payload);
      if (!checked.ok) throw badRequest(name(checked.field, i), checked.message);
      if (opts.headerKey && b.idempotencyKey && opts.headerKey !== b.idempotencyKey) {
        throw badRequest(name('idempotencyKey', i), 'differs from the Idempotency-Key header');
      }
      if (b.runAt && Date.parse(b.runAt) < now - PAST_RUN_AT_TOLERANCE_MS) {
        throw badRequest(name('runAt', i), 'is in the past');
      }
      const backoff = { ...DEFAULT_BACKOFF, ...b.backoff };
      return {
        type: b.type,
        payload: checked.payload,
        priority: b.priority,
        max_attempts: b.maxAttempts,
        backoff_initial_ms: backoff.initialDelayMs,
        backoff_factor: backoff.factor,
        backoff_max_ms: backoff.maxDelayMs,
        backoff_jitter: backoff.jitter,
        timeout_ms: b.timeoutMs ?? null,
        run_at: b.runAt ?? null,
        delay_ms: b.delayMs ?? 0,
        idempotency_key: opts.headerKey ?? b.idempotencyKey ?? null,
      };
    });

    if (this.blockPrivateTargets) {
      await Promise.all(
        rows.map(async (r, i) => {
          if (r.type !== 'webhook') return;
          const refused = await refusedWebhookTarget((r.payload as { url: string }).url);
          if (refused) throw badRequest(name('payload.url', i), `target refused: ${refused}`);
        }),
      );
    }

    const inserted = await insertJobs(this.db, rows);
    this.signal.announce(
      inserted.filter((j) => j.run_at.getTime() <= now + READY_HORIZON_MS).map((j) => j.run_at.getTime()),
    );

    const byKey = new Map(inserted.filter((j) => j.idempotency_key).map((j) => [j.idempotency_key!, j]));
    const missingKeys = rows.map((r) => r.idempotency_key).filter((k): k is string => !!k && !byKey.has(k));
    const existing = new Map(
      (await findJobsByIdempotencyKey(this.db, missingKeys)).map((j) => [j.idempotency_key!, j]),
    );
    const fresh = inserted.filter((j) => !j.idempotency_key);
    const seen = new Set<number>();
    return rows.map((r) => {
      const key = r.idempotency_key;
      const job = key ? (byKey.get(key) ?? existing.get(key)) : fresh.shift();
      if (!job) throw new AppError(500, 'INTERNAL', 'created job not returned');
      // The first item carrying a key created the job; later items with the same key are replays.
      const created = !seen.has(job.id) && inserted.includes(job);
      seen.add(job.id);
      return { job, created };
    });
  }

  async get(id: number) {
    const job = await findJob(this.db, id);
    if (!job) throw notFound('job', id);
    return { job, lastExecution: (await lastExecutionOf(this.db, id)) ?? null };
  }

  list(q: ListJobsQuery) {
    return listJobs(this.db, q);
  }

  async executions(jobId: number, page: { limit: number; cursor?: number }) {
    if (!(await findJob(this.db, jobId))) throw notFound('job', jobId);
    return listJobExecutions(this.db, jobId, page);
  }

  async trigger(id: number) {
    const result = await this.db.transaction().execute((trx) => triggerJob(trx, id));
    if (result.kind === 'not_found') throw notFound('job', id);
    if (result.kind === 'refused') {
      throw conflict(
        'JOB_NOT_TRIGGERABLE',
        `job ${id} is ${result.status}; only a waiting or finished job can be triggered`,
      );
    }
    this.signal.announce([result.execution.scheduled_for.getTime()]);
    return result.execution;
  }

  async cancel(id: number) {
    const result = await this.db.transaction().execute((trx) => cancelJob(trx, id));
    if (result.kind === 'not_found') throw notFound('job', id);
    if (result.kind === 'finished') {
      throw conflict('JOB_FINISHED', `job ${id} already ended ${result.status}; nothing to cancel`);
    }
    return (await findJob(this.db, id))!;
  }
}
