import {
  BUILTIN_PAYLOADS,
  type CreateFlowBody,
  type CreateJobBody,
  type CreateJobFields,
  DEFAULT_BACKOFF,
  DEFAULT_MAX_ATTEMPTS,
  DEFAULT_UNIQUE_STATES,
  FINAL_JOB_STATUSES,
  isBuiltinType,
  JobStatus,
  type ListJobsQuery,
  type PatchJobBody,
  type UniqueSpec,
} from '@hourglass/contracts';
import type { Db } from '../db/database.js';
import { AppError, badRequest, notFound } from '../errors.js';
import type { JobLifecycle } from '../lifecycle/job-lifecycle.js';
import type { Metrics } from '../metrics.js';
import type { PurgeFilter } from '../queue/clean-history.js';
import type { NewJob } from '../queue/insert-jobs.js';
import { listJobExecutions } from '../queue/read-executions.js';
import { parentsOf, readFlow } from '../queue/read-flows.js';
import {
  findJob,
  findJobsByIdempotencyKey,
  findUniqueHolders,
  lastExecutionOf,
  lastOccurrenceOf,
  listJobs,
} from '../queue/read-jobs.js';
import type { JobRow } from '../queue/rows.js';
import { READY_HORIZON_MS } from '../queue/timing.js';
import { cronProblem, DEFAULT_TIMEZONE, nextOccurrence } from '../schedules/schedule.js';
import type { DbClock } from './db-clock.js';
import { planFlow } from './flow-graph.js';
import type { JobTypeCatalog, JobTypeEntry } from './job-type-catalog.js';
import type { JobWaiters } from './job-waiters.js';
import { refusedWebhookTarget } from './outbound-check.js';
import { payloadProblem } from './payload-schemas.js';
import type { ReadySignal } from './ready-signal.js';

/**
 * The unique-key columns of a new job: the key, with its window's start when it has a window (fixed windows from the
 * epoch, by the database clock), and the statuses the key holds in (with a window and no states: every status, so
 * the window alone decides).
 */
function uniqueColumns(unique: UniqueSpec | undefined, nowMs: number) {
  if (!unique) return { unique_key: null, unique_states: null };
  const windowMs = (unique.windowSeconds ?? 0) * 1000;
  const key = windowMs
    ? `${unique.key}@${new Date(Math.floor(nowMs / windowMs) * windowMs).toISOString()}`
    : unique.key;
  const states = unique.states ?? (windowMs ? JobStatus.options : DEFAULT_UNIQUE_STATES);
  return { unique_key: key, unique_states: [...states] };
}

/** A runAt this far in the past is a mistake, not clock skew between client and server. */
const PAST_RUN_AT_TOLERANCE_MS = 60_000;

const FINAL = new Set<string>(FINAL_JOB_STATUSES);

export interface CreateWarning {
  code: 'TYPE_UNDECLARED';
  message: string;
}

export interface CreatedJob {
  job: JobRow;
  created: boolean;
  /** Not created because a job with its unique key exists (that job is `job`). */
  uniqueExisting?: boolean;
  /** The parents of a job this create made with dependsOn. */
  dependsOn?: number[];
  warnings: CreateWarning[];
}

export class JobsService {
  constructor(
    private readonly db: Db,
    private readonly lifecycle: JobLifecycle,
    private readonly signal: ReadySignal,
    private readonly waiters: JobWaiters,
    private readonly clock: DbClock,
    private readonly catalog: JobTypeCatalog,
    /** Refuse webhook jobs aimed at private, loopback or link-local addresses when that is known at creation. */
    private readonly blockPrivateTargets = false,
    private readonly metrics?: Metrics,
    /** Size bound of a list page (LIST_MAX_BYTES). */
    private readonly listMaxBytes = 4 * 1024 * 1024,
  ) {}

  /**
   * Creates jobs (one request or a batch) in one statement. Jobs whose idempotency key exists come back as the
   * existing job with `created: false`. `fieldName` names fields in errors the way the caller's body does
   * (`jobs.3.payload.x` in a batch, `url` for a timer).
   */
  async create(
    bodies: CreateJobBody[],
    opts: { headerKey?: string; fieldName?: (field: string, i: number) => string } = {},
  ): Promise<CreatedJob[]> {
    const name = opts.fieldName ?? ((field: string) => field);
    const now = this.clock.now();
    const { rows, types } = await this.prepare(bodies, name, opts.headerKey);

    const results: (CreatedJob | undefined)[] = rows.map(() => undefined);
    // A job skipped for its unique key whose holder became final before we could read it is inserted again: the
    // key is free now. Twice at most; a key that keeps changing hands that fast is a conflict.
    for (let round = 0; round < 3; round++) {
      const pending = rows.map((r, i) => ({ r, i })).filter(({ i }) => !results[i]);
      if (pending.length === 0) break;
      // Jobs with parents (dependsOn, flows) go through the lifecycle's graph create (one transaction that locks the
      // parents); they never carry a unique key, so they are all in the first round.
      const inserted = pending.some(({ i }) => bodies[i]!.dependsOn)
        ? await this.insertGraph(
            pending.map(({ r, i }) => ({
              job: r,
              refs: [],
              ids: bodies[i]!.dependsOn ?? [],
              onParentFailure: bodies[i]!.onParentFailure ?? 'cancel',
              ref: null,
            })),
            { flow: false, field: (k) => name('dependsOn', pending[k]!.i) },
          ).then((g) => g.rows)
        : await this.lifecycle.create(pending.map((p) => p.r));
      this.created(inserted, now);
      const matched = await this.match(
        pending.map((p) => p.r),
        inserted,
      );
      matched.forEach((m, k) => {
        if (m)
          results[pending[k]!.i] = {
            ...m,
            warnings: types.get(m.job.type) === null ? [undeclared(m.job.type)] : [],
            ...(m.created && bodies[pending[k]!.i]!.dependsOn
              ? { dependsOn: [...bodies[pending[k]!.i]!.dependsOn!].sort((a, b) => a - b) }
              : {}),
          };
      });
    }
    return rows.map((r, i) => {
      const result = results[i];
      if (!result) {
        throw new AppError(
          'UNIQUE_CONFLICT',
          `the job with unique key '${r.unique_key}' changed status while this one was created; try again`,
        );
      }
      return result;
    });
  }

  /**
   * Creates a flow (POST /flows): a DAG of one-shot jobs, in one transaction, or nothing. Refs, unknown refs and
   * cycles are checked first (flow-graph.ts); the jobs are inserted parents first. Answers the flow.
   */
  async createFlow(body: CreateFlowBody) {
    const plan = planFlow(body.jobs);
    const now = this.clock.now();
    const name = (field: string, i: number) => `jobs.${i}${field ? `.${field}` : ''}`;
    const { rows, types } = await this.prepare(body.jobs, name);
    const placed = new Map(plan.order.map((i, k) => [i, k]));
    const { rows: inserted, flowId } = await this.insertGraph(
      plan.order.map((i) => ({
        job: rows[i]!,
        refs: plan.refs[i]!.map((p) => placed.get(p)!),
        ids: plan.ids[i]!,
        onParentFailure: body.jobs[i]!.onParentFailure ?? 'cancel',
        ref: body.jobs[i]!.ref,
      })),
      { flow: true, field: (k) => name('dependsOn', plan.order[k]!) },
    );
    this.created(inserted, now);
    const flow = await this.getFlow(flowId!);
    const warned = new Set(inserted.filter((j) => types.get(j.type) === null).map((j) => j.type));
    return { flow, warnings: [...warned].map(undeclared) };
  }

  /** A flow's jobs (parents first) with their parents, and its edges. */
  async getFlow(id: number) {
    const flow = await readFlow(this.db, id);
    if (!flow) throw notFound('flow', id);
    return flow;
  }

  /** Inserts jobs with parents (see JobLifecycle.createGraph) and announces what became due or final. */
  private async insertGraph(...args: Parameters<JobLifecycle['createGraph']>) {
    const result = await this.lifecycle.createGraph(...args);
    this.signal.announce(result.callbacks.map((t) => t.getTime()));
    return result;
  }

  /** Counts and announces new jobs: those due soon wake claimers (a WAITING one has nothing to claim yet). */
  private created(inserted: JobRow[], now: number) {
    for (const j of inserted) this.metrics?.jobsCreated.inc({ type: j.type });
    this.signal.announce(
      inserted
        .filter((j) => j.status === 'SCHEDULED' && j.run_at.getTime() <= now + READY_HORIZON_MS)
        .map((j) => j.run_at.getTime()),
    );
  }

  /**
   * Checks the bodies of a create (payloads, times, webhook targets) and turns them into rows. `fieldName` names
   * fields in errors the way the caller's body does.
   */
  private async prepare(
    bodies: readonly CreateJobFields[],
    name: (field: string, i: number) => string,
    headerKey?: string,
  ): Promise<{ rows: NewJob[]; types: Map<string, JobTypeEntry | null> }> {
    const opts = { headerKey };
    const now = this.clock.now();
    const types = await this.catalog.lookup(bodies.map((b) => b.type));
    const rows: NewJob[] = bodies.map((b, i) => {
      const entry = types.get(b.type);
      const checked = checkPayload(b.type, b.payload, entry);
      if (!checked.ok) throw badRequest(name(checked.field, i), checked.message);
      if (opts.headerKey && b.idempotencyKey && opts.headerKey !== b.idempotencyKey) {
        throw badRequest(name('idempotencyKey', i), 'differs from the Idempotency-Key header');
      }
      for (const field of ['runAt', 'startAt'] as const) {
        const at = b[field];
        if (at && Date.parse(at) < now - PAST_RUN_AT_TOLERANCE_MS)
          throw badRequest(name(field, i), 'is in the past');
      }
      const timing = recurringTiming(b, now, (field, message) => badRequest(name(field, i), message));
      // The job's own settings, else its type's declared defaults, else the system's.
      const backoff = { ...DEFAULT_BACKOFF, ...(b.backoff ?? entry?.backoff) };
      // Fields listed one by one: spreading `timing` into this 18-field literal made V8 build each row the slow
      // way, 15 ms per 1,000 jobs against 2 ms (pnpm bench, POST /jobs/batch).
      return {
        kind: timing.kind,
        schedule_expression: timing.schedule_expression,
        timezone: timing.timezone,
        interval_seconds: timing.interval_seconds,
        overlap_policy: timing.overlap_policy,
        catch_up_policy: timing.catch_up_policy,
        type: b.type,
        payload: checked.payload,
        priority: b.priority,
        max_attempts: b.maxAttempts ?? entry?.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
        backoff_initial_ms: backoff.initialDelayMs,
        backoff_factor: backoff.factor,
        backoff_max_ms: backoff.maxDelayMs,
        backoff_jitter: backoff.jitter,
        timeout_ms: b.timeoutMs ?? null,
        run_at: timing.run_at ?? b.runAt ?? null,
        delay_ms: b.delayMs ?? 0,
        idempotency_key: opts.headerKey ?? b.idempotencyKey ?? null,
        retention_seconds: typeof b.retention === 'number' ? b.retention : null,
        keep_forever: b.retention === 'forever',
        callback_url: b.callbackUrl ?? null,
        queue: b.queue,
        concurrency_key: b.concurrencyKey ?? null,
        ...uniqueColumns(b.unique, now),
      };
    });

    if (this.blockPrivateTargets) {
      await Promise.all(
        rows.map(async (r, i) => {
          if (r.callback_url) {
            const refused = await refusedWebhookTarget(r.callback_url);
            if (refused) throw badRequest(name('callbackUrl', i), `target refused: ${refused}`);
          }
          if (r.type !== 'webhook') return;
          const refused = await refusedWebhookTarget((r.payload as { url: string }).url);
          if (refused) throw badRequest(name('payload.url', i), `target refused: ${refused}`);
        }),
      );
    }

    return { rows, types };
  }

  /**
   * Pairs the rows of a create with what the insert returned: the job it created, or the existing job its
   * idempotency key or unique key points to (undefined when the unique key's holder is gone: insert it again).
   */
  private async match(
    rows: NewJob[],
    inserted: JobRow[],
  ): Promise<(Omit<CreatedJob, 'warnings'> | undefined)[]> {
    const byKey = new Map(inserted.filter((j) => j.idempotency_key).map((j) => [j.idempotency_key!, j]));
    const byUnique = new Map(inserted.filter((j) => j.unique_key).map((j) => [j.unique_key!, j]));
    const missingKeys = rows.map((r) => r.idempotency_key).filter((k): k is string => !!k && !byKey.has(k));
    const existing = new Map(
      (await findJobsByIdempotencyKey(this.db, missingKeys)).map((j) => [j.idempotency_key!, j]),
    );
    const missingUnique = rows
      .filter((r) => !r.idempotency_key || !existing.has(r.idempotency_key))
      .map((r) => r.unique_key)
      .filter((k): k is string => !!k && !byUnique.has(k));
    const holders = new Map((await findUniqueHolders(this.db, missingUnique)).map((j) => [j.unique_key!, j]));
    const fresh = inserted.filter((j) => !j.idempotency_key && !j.unique_key);
    const seen = new Set<number>();
    return rows.map((r) => {
      const key = r.idempotency_key;
      let job = key ? (byKey.get(key) ?? existing.get(key)) : undefined;
      let uniqueExisting = false;
      if (!job && r.unique_key) {
        job = byUnique.get(r.unique_key);
        if (!job || seen.has(job.id)) {
          job = holders.get(r.unique_key) ?? job;
          uniqueExisting = !!job;
        }
      }
      if (!job && !key && !r.unique_key) job = fresh.shift();
      if (!job) {
        if (r.unique_key) return undefined;
        throw new AppError('INTERNAL', 'created job not returned');
      }
      // The first item carrying a key created the job; later items with the same key are replays.
      const created = !seen.has(job.id) && inserted.includes(job);
      seen.add(job.id);
      return { job, created, uniqueExisting: uniqueExisting || (!created && !!r.unique_key && !key) };
    });
  }

  async get(id: number) {
    const job = await findJob(this.db, id);
    if (!job) throw notFound('job', id);
    return this.withHistory(job);
  }

  /**
   * The job once it is final (SUCCEEDED, FAILED or CANCELLED), waiting up to `waitMs` for that; after the wait, the
   * job as it is. A create followed by this is create-and-wait in two requests, without polling.
   */
  async getWhenFinal(id: number, waitMs: number, signal: AbortSignal) {
    let latest: JobRow | undefined;
    const final = await this.waiters.waitFor(
      id,
      async () => {
        latest = await findJob(this.db, id);
        if (!latest) throw notFound('job', id);
        return FINAL.has(latest.status) ? latest : undefined;
      },
      waitMs,
      signal,
    );
    return this.withHistory(final ?? latest!);
  }

  private async withHistory(job: JobRow) {
    const [lastExecution, lastOccurrence, dependsOn] = await Promise.all([
      lastExecutionOf(this.db, job.id),
      job.kind === 'once' ? undefined : lastOccurrenceOf(this.db, job.id),
      job.parent_count > 0 ? parentsOf(this.db, job.id) : undefined,
    ]);
    return { job, lastExecution: lastExecution ?? null, lastOccurrence: lastOccurrence ?? null, dependsOn };
  }

  list(q: ListJobsQuery) {
    return listJobs(this.db, q, this.listMaxBytes);
  }

  async executions(jobId: number, page: { limit: number; cursor?: number }) {
    if (!(await findJob(this.db, jobId))) throw notFound('job', jobId);
    return listJobExecutions(this.db, jobId, page, this.listMaxBytes);
  }

  async trigger(id: number) {
    const execution = await this.lifecycle.trigger(id);
    this.signal.announce([execution.scheduled_for.getTime()]);
    return execution;
  }

  pause(id: number) {
    return this.lifecycle.pause(id);
  }

  resume(id: number) {
    return this.lifecycle.resume(id);
  }

  /** New schedule or policies for a recurring job; the next occurrence is recomputed from now. */
  reschedule(id: number, patch: PatchJobBody) {
    return this.lifecycle.reschedule(id, patch);
  }

  /** Deletes a finished job (or a cancelled recurring one) and its history. */
  delete(id: number) {
    return this.lifecycle.delete(id);
  }

  /** An operator's bulk delete of finished jobs. */
  purge(filter: PurgeFilter) {
    return this.lifecycle.purge(filter);
  }

  async cancel(id: number) {
    const { job, callbacks, settled } = await this.lifecycle.cancel(id);
    this.waiters.changed([id, ...settled.cancelled]);
    this.signal.announce([
      ...callbacks.map((t) => t.getTime()),
      ...settled.ready.filter((r) => r.ready).map((r) => r.scheduled_for.getTime()),
    ]);
    return job;
  }
}

/**
 * The schedule columns of a new job. A recurring job's first occurrence (`run_at`, also its interval anchor) is
 * the first cron time after now, or `startAt` (default now + one interval) for an interval job.
 */
function recurringTiming(
  b: CreateJobFields,
  now: number,
  fail: (field: string, message: string) => Error,
): Pick<
  NewJob,
  'kind' | 'schedule_expression' | 'timezone' | 'interval_seconds' | 'overlap_policy' | 'catch_up_policy'
> & { run_at?: string } {
  const policies = {
    overlap_policy: b.overlapPolicy ?? 'skip',
    catch_up_policy: b.catchUpPolicy ?? 'fire_once',
  };
  if (b.scheduleExpression !== undefined) {
    const timezone = b.timezone ?? DEFAULT_TIMEZONE;
    const problem = cronProblem(b.scheduleExpression, timezone);
    if (problem) throw fail(problem.field, problem.message);
    const schedule = { kind: 'cron', expression: b.scheduleExpression, timezone } as const;
    const first = nextOccurrence(schedule, new Date(now));
    if (!first) throw fail('scheduleExpression', 'never fires');
    return {
      kind: 'cron',
      schedule_expression: b.scheduleExpression,
      timezone,
      interval_seconds: null,
      run_at: first.toISOString(),
      ...policies,
    };
  }
  if (b.intervalSeconds !== undefined) {
    const first = b.startAt ? Date.parse(b.startAt) : now + b.intervalSeconds * 1000;
    return {
      kind: 'interval',
      schedule_expression: null,
      timezone: null,
      interval_seconds: b.intervalSeconds,
      run_at: new Date(first).toISOString(),
      ...policies,
    };
  }
  return { kind: 'once', schedule_expression: null, timezone: null, interval_seconds: null, ...policies };
}

type PayloadCheck = { ok: true; payload: unknown } | { ok: false; field: string; message: string };

/**
 * A built-in type's payload is parsed by its zod schema (defaults filled in); a declared type's is checked
 * against the JSON Schema its runners declared (and stored as given: their runners fill defaults). A type no
 * runner has declared is taken as it is.
 */
function checkPayload(type: string, payload: unknown, entry: JobTypeEntry | null | undefined): PayloadCheck {
  if (isBuiltinType(type)) {
    // `raw` and `idempotencyKey` make a webhook look like a completion callback: only the orchestrator sets them.
    const reserved = type === 'webhook' && serverOnlyWebhookField(payload);
    if (reserved) {
      return {
        ok: false,
        field: `payload.${reserved}`,
        message: 'is set by the orchestrator for completion callbacks only',
      };
    }
    const parsed = BUILTIN_PAYLOADS[type].safeParse(payload);
    if (parsed.success) return { ok: true, payload: parsed.data ?? null };
    const issue = parsed.error.issues[0]!;
    return { ok: false, field: ['payload', ...issue.path.map(String)].join('.'), message: issue.message };
  }
  const problem = entry?.validate && payloadProblem(entry.validate, payload ?? null);
  if (problem) return { ok: false, ...problem };
  return { ok: true, payload: payload ?? null };
}

function serverOnlyWebhookField(payload: unknown): string | undefined {
  if (payload === null || typeof payload !== 'object') return undefined;
  return ['raw', 'idempotencyKey'].find((f) => f in payload);
}

function undeclared(type: string): CreateWarning {
  return {
    code: 'TYPE_UNDECLARED',
    message: `no runner has declared type '${type}' yet: its payload was not checked, and it runs once a runner serving it registers`,
  };
}
