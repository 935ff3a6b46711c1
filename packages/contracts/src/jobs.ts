import { z } from 'zod';
import { WebhookUrl } from './builtin-types.js';
import { Id, JobTypeName, Page, PageQuery, Timestamp, TimestampInput } from './common.js';
import { ConcurrencyKey, DEFAULT_QUEUE, QueueName } from './queues.js';

/** WAITING: a job with parents (`dependsOn`) that have not all SUCCEEDED yet; it has no execution until then. */
export const JobStatus = z.enum([
  'WAITING',
  'SCHEDULED',
  'RUNNING',
  'SUCCEEDED',
  'FAILED',
  'CANCELLED',
  'PAUSED',
]);
export type JobStatus = z.infer<typeof JobStatus>;

export const DEFAULT_MAX_ATTEMPTS = 3;
export const DEFAULT_BACKOFF = { initialDelayMs: 5_000, factor: 2, maxDelayMs: 3_600_000, jitter: false };

export const Backoff = z.strictObject({
  initialDelayMs: z.number().int().min(0).max(86_400_000).default(DEFAULT_BACKOFF.initialDelayMs),
  factor: z.number().min(1).max(10).default(DEFAULT_BACKOFF.factor),
  maxDelayMs: z
    .number()
    .int()
    .min(0)
    .max(7 * 86_400_000)
    .default(DEFAULT_BACKOFF.maxDelayMs),
  /** Spread each delay uniformly over [delay/2, delay] so a burst of failures does not retry in lockstep. */
  jitter: z.boolean().default(DEFAULT_BACKOFF.jitter),
});
export type Backoff = z.infer<typeof Backoff>;

/** Keys `callback-…` are the orchestrator's own (completion callback deliveries): a client's could suppress one. */
export const RESERVED_IDEMPOTENCY_PREFIX = 'callback-';
const IDEMPOTENCY_KEY = z
  .string()
  .min(1)
  .max(200)
  .refine((k) => !k.startsWith(RESERVED_IDEMPOTENCY_PREFIX), {
    message: `keys starting with '${RESERVED_IDEMPOTENCY_PREFIX}' are reserved for completion callbacks`,
  });

/** While a job is in these statuses, another with its unique key is not created (the default: not final). */
export const DEFAULT_UNIQUE_STATES = ['SCHEDULED', 'RUNNING', 'PAUSED'] as const;

/**
 * Unique jobs: while a job with the same `key` is in one of `states` (default: SCHEDULED, RUNNING or PAUSED), or was
 * created in the same window of `windowSeconds` (fixed windows from the epoch; any status unless `states` is given),
 * creating another returns that one (200, `unique-existing: true`). Enforced by a unique index.
 */
export const UniqueSpec = z.strictObject({
  key: z.string().min(1).max(200),
  windowSeconds: z
    .number()
    .int()
    .min(1)
    .max(366 * 86_400)
    .optional(),
  states: z
    .array(JobStatus)
    .min(1)
    .max(JobStatus.options.length)
    .refine((s) => new Set(s).size === s.length, 'lists a status twice')
    // The engine itself moves a job between SCHEDULED and RUNNING (claims, retries): were only one of them to hold
    // the key, such a move could collide with another job's key inside a claim or a report.
    .refine((s) => s.includes('SCHEDULED') && s.includes('RUNNING'), 'must include SCHEDULED and RUNNING')
    .optional(),
});
export type UniqueSpec = z.infer<typeof UniqueSpec>;

export const JobKind = z.enum(['once', 'cron', 'interval']);
export type JobKind = z.infer<typeof JobKind>;
/** What a recurring job does with an occurrence due while the previous one still runs. */
export const OverlapPolicy = z.enum(['skip', 'allow', 'queue']);
/** What a recurring job does with occurrences missed while the system was down. */
export const CatchUpPolicy = z.enum(['fire_once', 'fire_all', 'skip']);

/** The fields that make a job recurring, shared by create and PATCH. */
const SCHEDULE_FIELDS = {
  scheduleExpression: z.string().trim().min(1).max(200).optional(),
  /** IANA time zone the cron expression is read in. */
  timezone: z.string().min(1).max(100).optional(),
  intervalSeconds: z
    .number()
    .int()
    .min(1)
    .max(366 * 86_400)
    .optional(),
  overlapPolicy: OverlapPolicy.optional(),
  catchUpPolicy: CatchUpPolicy.optional(),
};

const TIMING_FIELDS = ['runAt', 'delayMs', 'scheduleExpression', 'intervalSeconds'] as const;

/**
 * Body of `POST /jobs`. When to run is one of: nothing (now), `runAt` or `delayMs` (one-shot later),
 * `scheduleExpression` (cron, 5 or 6 fields, in `timezone`) or `intervalSeconds` (from `startAt`, default now).
 */
/**
 * How long a job is kept once it finished: seconds (up to 10 years), or `"forever"`. Default: its final status's
 * retention (RETENTION_SUCCEEDED_SECONDS and the like). A recurring job's old executions and occurrences age out by
 * the same rule; its definition stays until it is cancelled and deleted.
 */
export const Retention = z.union([
  z.literal('forever'),
  z
    .number()
    .int()
    .min(0)
    .max(3650 * 86_400),
]);

/** Most parents one job may wait for. */
export const MAX_PARENTS = 100;

/** What a job does when one of its parents ends FAILED or CANCELLED (see README, "Flows"). */
export const OnParentFailure = z.enum(['cancel', 'run']);
export type OnParentFailure = z.infer<typeof OnParentFailure>;

/** The fields of a job to create, shared by `POST /jobs` and the jobs of `POST /flows`. */
export const CREATE_JOB_FIELDS = {
  type: JobTypeName,
  payload: z.unknown().optional(),
  priority: z.number().int().min(-1000).max(1000).default(0),
  /** Attempts in all, counting the first; default: the type's declared default, else 3. */
  maxAttempts: z.number().int().min(1).max(100).optional(),
  backoff: Backoff.optional(),
  timeoutMs: z.number().int().min(1).max(86_400_000).optional(),
  runAt: TimestampInput.optional(),
  delayMs: z
    .number()
    .int()
    .min(0)
    .max(366 * 86_400_000)
    .optional(),
  ...SCHEDULE_FIELDS,
  /** First occurrence of an interval job (default: now). */
  startAt: TimestampInput.optional(),
  idempotencyKey: IDEMPOTENCY_KEY.optional(),
  retention: Retention.optional(),
  /**
   * Completion callback: once the job is final (SUCCEEDED, FAILED after its last attempt, CANCELLED), a signed POST
   * of the job to this URL, delivered by the runners like a webhook (see README, "Events and callbacks").
   */
  callbackUrl: WebhookUrl.optional(),
  /** The queue it runs in (issue 14); created on first use, configured with PUT /queues/{name}. */
  queue: QueueName.default(DEFAULT_QUEUE),
  /** The group the queue's per-key limits count it in. */
  concurrencyKey: ConcurrencyKey.optional(),
  unique: UniqueSpec.optional(),
  /** What the job does when a parent ends FAILED or CANCELLED: `cancel` (the default) or `run` anyway. */
  onParentFailure: OnParentFailure.optional(),
};

/** The fields of a job to create (as parsed), without its dependencies. */
export type CreateJobFields = z.infer<z.ZodObject<typeof CREATE_JOB_FIELDS>>;

const listsTwice = (items: readonly unknown[]) => items.find((x, i) => items.indexOf(x) !== i);

/** The checks of a job's fields that span several of them, shared by POST /jobs and POST /flows. */
export function checkJobFields(
  b: CreateJobFields & { dependsOn?: readonly unknown[] },
  ctx: z.RefinementCtx,
) {
  const given = TIMING_FIELDS.filter((f) => b[f] !== undefined);
  if (given.length > 1) {
    ctx.addIssue({
      code: 'custom',
      path: [given[1]!],
      message: `give one of ${TIMING_FIELDS.join(', ')}; got ${given.join(' and ')}`,
    });
  }
  const recurring = b.scheduleExpression !== undefined || b.intervalSeconds !== undefined;
  if (b.timezone !== undefined && b.scheduleExpression === undefined) {
    ctx.addIssue({ code: 'custom', path: ['timezone'], message: 'only applies to a scheduleExpression' });
  }
  if (b.startAt !== undefined && b.intervalSeconds === undefined) {
    ctx.addIssue({ code: 'custom', path: ['startAt'], message: 'only applies to intervalSeconds' });
  }
  for (const f of ['overlapPolicy', 'catchUpPolicy'] as const) {
    if (b[f] !== undefined && !recurring) {
      ctx.addIssue({ code: 'custom', path: [f], message: 'only applies to recurring jobs' });
    }
  }
  const parents = b.dependsOn ?? [];
  if (parents.length > 0) {
    // A recurring job runs again and again; what "its parents succeeded" means for its next run, or for the children
    // of a job that never ends, has no single answer: refused rather than guessed (see README, "Flows").
    if (recurring) {
      ctx.addIssue({
        code: 'custom',
        path: ['dependsOn'],
        message: 'only one-shot jobs can wait for parents',
      });
    }
    // Releasing a waiting job moves it to SCHEDULED inside another job's report; a unique key taken in between
    // would fail that whole report.
    if (b.unique !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['unique'], message: 'cannot be combined with dependsOn' });
    }
    const twice = listsTwice(parents);
    if (twice !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['dependsOn'], message: `lists ${JSON.stringify(twice)} twice` });
    }
  } else if (b.onParentFailure !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['onParentFailure'], message: 'only applies with dependsOn' });
  }
}

export const CreateJobBody = z
  .strictObject({
    ...CREATE_JOB_FIELDS,
    /**
     * Existing jobs (ids) this one waits for (issue 14, flows): it is WAITING until every one of them has SUCCEEDED,
     * then due at once (or at its runAt, if later). At most 100; one-shot jobs only.
     */
    dependsOn: z.array(Id).min(1).max(MAX_PARENTS).optional(),
  })
  .superRefine(checkJobFields)
  .meta({
    examples: [
      { type: 'echo', payload: { hello: 'world' } },
      { type: 'sleep', payload: { durationMs: 500, failAttempts: 1 }, maxAttempts: 3, delayMs: 10000 },
      { type: 'noop', scheduleExpression: '0 9 * * 1-5', timezone: 'Europe/Berlin', overlapPolicy: 'skip' },
      { type: 'webhook', payload: { url: 'https://example.com/hook' }, intervalSeconds: 3600 },
      { type: 'echo', payload: { step: 'report' }, dependsOn: [41, 42], onParentFailure: 'run' },
    ],
  });
export type CreateJobBody = z.infer<typeof CreateJobBody>;

export const IdempotencyKeyHeader = IDEMPOTENCY_KEY;

export const CreateJobsBatchBody = z.strictObject({
  jobs: z.array(CreateJobBody).min(1).max(1000),
});

export const ExecutionSummary = z.object({
  id: Id,
  attempt: z.number().int(),
  status: z.string(),
  scheduledFor: Timestamp,
  finishedAt: Timestamp.nullable(),
  error: z.string().nullable(),
  errorCode: z.string().nullable(),
  /** What the handler returned (SUCCEEDED), else null. */
  result: z.unknown(),
  progress: z.unknown(),
  progressAt: Timestamp.nullable(),
});

export const Schedule = z.object({
  kind: JobKind,
  scheduleExpression: z.string().nullable(),
  timezone: z.string().nullable(),
  intervalSeconds: z.number().int().nullable(),
  overlapPolicy: OverlapPolicy,
  catchUpPolicy: CatchUpPolicy,
});

export const Job = z.object({
  id: Id,
  type: z.string(),
  kind: JobKind,
  schedule: Schedule.nullable(),
  /** Next occurrence of a recurring job (null when paused, cancelled, or one-shot). */
  nextRunAt: Timestamp.nullable(),
  payload: z.unknown(),
  status: JobStatus,
  priority: z.number().int(),
  maxAttempts: z.number().int(),
  backoff: z.object({
    initialDelayMs: z.number(),
    factor: z.number(),
    maxDelayMs: z.number(),
    jitter: z.boolean(),
  }),
  timeoutMs: z.number().int().nullable(),
  runAt: Timestamp,
  idempotencyKey: z.string().nullable(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  finishedAt: Timestamp.nullable(),
  /** The job's own retention (seconds or `"forever"`), or null for its status's default. */
  retention: Retention.nullable(),
  /** Where the job is POSTed once final (completion callback), or null. */
  callbackUrl: z.string().nullable(),
  queue: z.string(),
  concurrencyKey: z.string().nullable(),
  /** The unique key as stored (with `@<window start>` when it has a window), or null. */
  uniqueKey: z.string().nullable(),
  /** The flow it was created in (POST /flows), or null. */
  flowId: Id.nullable(),
  /** The jobs it waits for (or waited for): present when it has any. */
  dependsOn: z.array(Id).optional(),
  /** What it does when a parent ends FAILED or CANCELLED; null without parents. */
  onParentFailure: OnParentFailure.nullable(),
  /** The latest execution (any attempt, any occurrence): the job's most recent outcome. */
  lastExecution: ExecutionSummary.nullable().optional(),
  /**
   * A recurring job's latest occurrence: run (CREATED), SKIPPED or QUEUED, and why. Consecutive occurrences skipped
   * for the same reason (a catch-up after downtime, or while an earlier one still runs) are one entry: from
   * `scheduledFor` to `lastScheduledFor`, `count` of them.
   */
  lastOccurrence: z
    .object({
      scheduledFor: Timestamp,
      status: z.enum(['CREATED', 'SKIPPED', 'QUEUED']),
      reason: z.string().nullable(),
      executionId: Id.nullable(),
      // Described in the schema too, so the OpenAPI document says what a count above 1 means.
      count: z
        .number()
        .int()
        .min(1)
        .describe('How many occurrences this entry stands for: 1, or more for a run of skipped ones'),
      lastScheduledFor: Timestamp.describe('The last of them (equal to scheduledFor when count is 1)'),
    })
    .optional(),
  /**
   * Only in the answer to a create: things worth knowing that did not stop it, e.g. `TYPE_UNDECLARED` (no runner
   * has declared this type yet, so its payload was not checked and nothing may run it).
   */
  warnings: z.array(z.object({ code: z.string(), message: z.string() })).optional(),
  /** Only in the answer to a create: true when the job existed already under the same unique key (issue 14). */
  uniqueExisting: z.boolean().optional(),
});
export type Job = z.infer<typeof Job>;

/** `GET /jobs/{id}?wait=30`: answer as soon as the job is final, or after `wait` seconds with it as it is. */
export const GetJobQuery = z.strictObject({
  wait: z.coerce.number().min(0).max(60).default(0),
});

export const FINAL_JOB_STATUSES = ['SUCCEEDED', 'FAILED', 'CANCELLED'] as const;

export const ListJobsQuery = z.strictObject({
  status: JobStatus.optional(),
  kind: JobKind.optional(),
  type: z.string().min(1).max(100).optional(),
  /**
   * Find a job by what a person has at hand: its id, or its idempotency key (exactly, or its beginning). Combined
   * with the other filters.
   */
  q: z.string().trim().min(1).max(200).optional(),
  ...PageQuery,
});
export type ListJobsQuery = z.infer<typeof ListJobsQuery>;

export const JobList = Page(Job);
export const JobsBatchReply = z.object({ jobs: z.array(Job) });

/** Body of `PATCH /jobs/{id}`: a recurring job's new schedule or policies; the next occurrence is recomputed. */
export const PatchJobBody = z
  .strictObject(SCHEDULE_FIELDS)
  .refine((b) => Object.keys(b).length > 0, { message: 'nothing to change', path: ['scheduleExpression'] })
  .refine((b) => !(b.scheduleExpression !== undefined && b.intervalSeconds !== undefined), {
    message: 'give one of scheduleExpression and intervalSeconds',
    path: ['intervalSeconds'],
  });
export type PatchJobBody = z.infer<typeof PatchJobBody>;

/** `POST /jobs/purge`: finished jobs to delete with their history (admin). */
export const PurgeJobsBody = z.strictObject({
  /** Jobs that finished before this time. */
  finishedBefore: TimestampInput,
  status: z.enum(['SUCCEEDED', 'FAILED', 'CANCELLED']).optional(),
  type: JobTypeName.optional(),
});
export type PurgeJobsBody = z.infer<typeof PurgeJobsBody>;

export const PurgeJobsReply = z.object({
  deleted: z.number().int(),
  /** The purge stopped after its time budget (10 s); call again for the rest. */
  more: z.boolean(),
});
