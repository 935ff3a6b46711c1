import { z } from 'zod';
import { Id, Page, PageQuery, Timestamp } from './common.js';

export const JobStatus = z.enum(['SCHEDULED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED', 'PAUSED']);
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

const IDEMPOTENCY_KEY = z.string().min(1).max(200);

/**
 * Body of `POST /jobs`. When to run is one of: nothing (now), `runAt` or `delayMs`; recurring kinds
 * (cron, interval) join this union of timing fields later without changing the rest.
 */
export const CreateJobBody = z
  .strictObject({
    type: z.string().min(1).max(100),
    payload: z.unknown().optional(),
    priority: z.number().int().min(-1000).max(1000).default(0),
    maxAttempts: z.number().int().min(1).max(100).default(DEFAULT_MAX_ATTEMPTS),
    backoff: Backoff.optional(),
    timeoutMs: z.number().int().min(1).max(86_400_000).optional(),
    runAt: Timestamp.optional(),
    delayMs: z
      .number()
      .int()
      .min(0)
      .max(366 * 86_400_000)
      .optional(),
    idempotencyKey: IDEMPOTENCY_KEY.optional(),
  })
  .refine((b) => !(b.runAt !== undefined && b.delayMs !== undefined), {
    message: 'give at most one of runAt and delayMs',
    path: ['delayMs'],
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
});

export const Job = z.object({
  id: Id,
  type: z.string(),
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
  lastExecution: ExecutionSummary.nullable().optional(),
});
export type Job = z.infer<typeof Job>;

export const ListJobsQuery = z.strictObject({
  status: JobStatus.optional(),
  type: z.string().min(1).max(100).optional(),
  ...PageQuery,
});
export type ListJobsQuery = z.infer<typeof ListJobsQuery>;

export const JobList = Page(Job);
export const JobsBatchReply = z.object({ jobs: z.array(Job) });
