import { z } from 'zod';
import { Id, JobTypeName, Timestamp } from './common.js';
import { Backoff } from './jobs.js';
import { QueueName } from './queues.js';

export const RunnerStatus = z.enum(['ONLINE', 'DRAINING', 'OFFLINE']);
export type RunnerStatus = z.infer<typeof RunnerStatus>;

/** A payload's JSON Schema (draft 2020-12), as a runner declares it: at most 64 KiB and 32 levels deep. */
export const PayloadJsonSchema = z.record(z.string(), z.unknown());

/**
 * A type a runner serves, with what it knows about it: the JSON Schema its payload must satisfy (checked when a job
 * is created) and the retry settings jobs of this type get when they set none.
 */
export const TypeDeclaration = z.strictObject({
  type: JobTypeName,
  payloadSchema: PayloadJsonSchema.optional(),
  retry: z
    .strictObject({
      maxAttempts: z.number().int().min(1).max(100).optional(),
      backoff: Backoff.optional(),
    })
    .optional(),
});
export type TypeDeclaration = z.infer<typeof TypeDeclaration>;

export const RegisterRunnerBody = z
  .strictObject({
    /** A runner that restarts may send the id it had, to keep one row per runner in `GET /runners`. */
    id: z.uuid().optional(),
    name: z.string().min(1).max(200),
    host: z.string().min(1).max(255),
    /** The types it serves: names, or declarations with a payload schema and retry defaults. */
    types: z
      .array(z.union([JobTypeName, TypeDeclaration]))
      .min(1)
      .max(200),
    capacity: z.number().int().min(1).max(10_000),
    /** The queues it serves (default: every queue). */
    queues: z.array(QueueName).min(1).max(200).optional(),
  })
  .superRefine((b, ctx) => {
    const seen = new Set<string>();
    b.types.forEach((t, i) => {
      const name = typeof t === 'string' ? t : t.type;
      if (seen.has(name))
        ctx.addIssue({ code: 'custom', path: ['types', i], message: `'${name}' is listed twice` });
      seen.add(name);
    });
  })
  .meta({
    examples: [
      { name: 'runner-1', host: 'worker-a', types: ['echo', 'noop', 'sleep', 'webhook'], capacity: 10 },
      {
        name: 'images-1',
        host: 'worker-b',
        types: [
          {
            type: 'resize-image',
            payloadSchema: {
              type: 'object',
              properties: { url: { type: 'string' }, width: { type: 'integer', minimum: 1 } },
              required: ['url', 'width'],
            },
            retry: { maxAttempts: 5 },
          },
        ],
        capacity: 4,
      },
    ],
  });
export type RegisterRunnerBody = z.infer<typeof RegisterRunnerBody>;

export const RegisterRunnerReply = z.object({
  id: z.uuid(),
  heartbeatIntervalMs: z.number().int(),
  leaseMs: z.number().int(),
  maxWaitSeconds: z.number().int(),
});
export type RegisterRunnerReply = z.infer<typeof RegisterRunnerReply>;

/**
 * A progress report: a percentage, or a small JSON object (at most 1 KiB, 10 levels deep, nothing PostgreSQL cannot
 * store) such as `{"done": 40, "of": 90}`. The runner SDK checks it in the handler, so a bad value fails there
 * instead of every heartbeat that would carry it.
 */
export const ProgressValue = z.union([
  z.number().min(0).max(100),
  z
    .record(z.string(), z.unknown())
    .refine((v) => JSON.stringify(v).length <= 1024, { message: 'must be at most 1 KiB of JSON' })
    .refine((v) => storable(v, 10), {
      message: 'must be at most 10 levels deep, with no NUL character or unpaired surrogate',
    }),
]);

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const unstorable = (s: string) => s.includes('\u0000') || LONE_SURROGATE.test(s);

/** A JSON value PostgreSQL can store (no NUL, no unpaired surrogate, in keys or strings) and at most `maxDepth` deep. */
function storable(value: unknown, maxDepth: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  for (let next = stack.pop(); next; next = stack.pop()) {
    const [v, depth] = next;
    if (typeof v === 'string' && unstorable(v)) return false;
    if (v === null || typeof v !== 'object') continue;
    if (depth > maxDepth) return false;
    for (const [key, child] of Object.entries(v)) {
      if (unstorable(key)) return false;
      stack.push([child, depth + 1]);
    }
  }
  return true;
}
export type ProgressValue = z.infer<typeof ProgressValue>;

export const HeartbeatBody = z.strictObject({
  /** Executions the runner is working on; any it no longer holds come back in `cancel`. */
  running: z.array(Id).max(10_000).default([]),
  /** Latest progress of running executions, by execution id (`{"42": 75}`); shown on the execution. */
  progress: z
    .record(z.string().regex(/^[1-9][0-9]{0,15}$/, 'must be an execution id'), ProgressValue)
    .refine((p) => Object.keys(p).length <= 10_000, { message: 'at most 10,000 entries' })
    .optional(),
});
export type HeartbeatBody = z.infer<typeof HeartbeatBody>;

export const HeartbeatReply = z.object({
  /** Executions to abort: cancelled by a user, or lost (lease expired and reaped). */
  cancel: z.array(Id),
  drain: z.boolean(),
  leaseExpiresAt: Timestamp,
});
export type HeartbeatReply = z.infer<typeof HeartbeatReply>;

export const DeregisterBody = z.strictObject({
  /**
   * Executions whose handler this runner started and has not managed to report: they fail (and are retried).
   * Anything else still RUNNING under the runner never reached it and goes back to PENDING without spending an
   * attempt. Without a body, everything it holds counts as started.
   */
  started: z.array(Id).max(10_000),
});
export type DeregisterBody = z.infer<typeof DeregisterBody>;

/** Most executions one claim may ask for; a runner with more free slots asks for this many at a time. */
export const MAX_CLAIM_BATCH = 1000;

export const NextJobQuery = z.strictObject({
  /** Seconds to wait for work before answering 204. */
  wait: z.coerce.number().min(0).max(60).default(0),
  max: z.coerce.number().int().min(1).max(MAX_CLAIM_BATCH).default(1),
});
export type NextJobQuery = z.infer<typeof NextJobQuery>;

/** Bytes of parents' results one claimed execution carries at most (see ClaimedExecution.parents). */
export const PARENT_RESULTS_MAX_BYTES = 64 * 1024;

/** A parent of a claimed execution's job, with what it returned. */
export const ParentResult = z.object({
  jobId: Id,
  type: z.string(),
  /** SUCCEEDED, or FAILED / CANCELLED for a job with `onParentFailure: run`. */
  status: z.string(),
  result: z.unknown(),
  /** The result did not fit the bound: it is null here. */
  resultTruncated: z.boolean().optional(),
});
export type ParentResult = z.infer<typeof ParentResult>;

export const ClaimedExecution = z.object({
  id: Id,
  jobId: Id,
  type: z.string(),
  payload: z.unknown(),
  attempt: z.number().int(),
  maxAttempts: z.number().int(),
  scheduledFor: Timestamp,
  leaseExpiresAt: Timestamp,
  timeoutMs: z.number().int().nullable(),
  /**
   * Which occurrence of the job this is: null for its first, else a number shared by the retries of that occurrence
   * and by no other. `<jobId>` or `<jobId>-<occurrenceId>` is an idempotency key for outside effects.
   */
  occurrenceId: Id.nullable(),
  /**
   * Only for a job with parents (flows, issue 14): each parent's id, type, status and result (its last SUCCEEDED
   * execution's), in id order. Results are included while together they stay within PARENT_RESULTS_MAX_BYTES
   * (64 KiB of JSON); a result past that comes as null with `resultTruncated: true` (read it with GET /jobs/{id}).
   */
  parents: z.array(ParentResult).optional(),
});
export type ClaimedExecution = z.infer<typeof ClaimedExecution>;

export const NextJobReply = z.object({ executions: z.array(ClaimedExecution) });
export type NextJobReply = z.infer<typeof NextJobReply>;

export const Runner = z.object({
  id: z.uuid(),
  name: z.string(),
  host: z.string(),
  types: z.array(z.string()),
  capacity: z.number().int(),
  /** The queues it serves, or null for every queue. */
  queues: z.array(z.string()).nullable(),
  status: RunnerStatus,
  running: z.number().int(),
  registeredAt: Timestamp,
  lastHeartbeatAt: Timestamp,
});
export type Runner = z.infer<typeof Runner>;
export const RunnerList = z.object({ items: z.array(Runner) });

/** The answer to `POST /runners/{id}/drain` (admin): the runner is told to drain in its next heartbeat answer. */
export const DrainRunnerReply = z.object({ id: z.uuid(), status: z.literal('DRAINING') });
export type DrainRunnerReply = z.infer<typeof DrainRunnerReply>;

/** One job type as `GET /job-types` shows it: its schema, who serves it, and its backlog. */
export const JobType = z.object({
  name: z.string(),
  builtin: z.boolean(),
  /** The payload JSON Schema jobs are checked against at creation (null: none declared, nothing checked). */
  payloadSchema: PayloadJsonSchema.nullable(),
  /** Goes up by one each time a registration declares a different schema (the newest registration wins). */
  schemaVersion: z.number().int(),
  schemaUpdatedAt: Timestamp.nullable(),
  /** The runner whose registration set the current schema. */
  schemaDeclaredBy: z.uuid().nullable(),
  retry: z.object({ maxAttempts: z.number().int().nullable(), backoff: z.unknown() }),
  /** ONLINE runners that serve it; `schemaMatches` is false for one that declared another schema. */
  runners: z.array(
    z.object({ id: z.uuid(), name: z.string(), status: RunnerStatus, schemaMatches: z.boolean().nullable() }),
  ),
  /** Executions due now and not yet claimed, and how long the oldest of them has waited. */
  dueBacklog: z.number().int(),
  oldestDueAgeSeconds: z.number().nullable(),
  /** When a runner last declared it (null: only seen on jobs). */
  lastDeclaredAt: Timestamp.nullable(),
});
export type JobType = z.infer<typeof JobType>;
export const JobTypeList = z.object({ items: z.array(JobType) });
