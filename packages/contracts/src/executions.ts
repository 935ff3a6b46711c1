import { z } from 'zod';
import { Id, Page, PageQuery, Timestamp, TimestampInput } from './common.js';

export const ExecutionStatus = z.enum([
  'PENDING',
  'RUNNING',
  'SUCCEEDED',
  'FAILED',
  'TIMED_OUT',
  'CANCELLED',
]);
export type ExecutionStatus = z.infer<typeof ExecutionStatus>;

export const Execution = z.object({
  id: Id,
  jobId: Id,
  type: z.string(),
  attempt: z.number().int(),
  status: ExecutionStatus,
  scheduledFor: Timestamp,
  createdAt: Timestamp,
  claimedAt: Timestamp.nullable(),
  startedAt: Timestamp.nullable(),
  finishedAt: Timestamp.nullable(),
  runnerId: z.uuid().nullable(),
  leaseExpiresAt: Timestamp.nullable(),
  error: z.string().nullable(),
  /** A stable code for the failure: `PAYLOAD_INVALID`, `PERMANENT`, or one the handler chose. */
  errorCode: z.string().nullable(),
  /** false: the runner reported the failure as permanent (no further attempts). null unless failed. */
  retryable: z.boolean().nullable(),
  result: z.unknown(),
  /** The handler's last progress report (0-100, or a small JSON object), and when it arrived. */
  progress: z.unknown(),
  progressAt: Timestamp.nullable(),
});
export type Execution = z.infer<typeof Execution>;

export const ActiveExecution = Execution.extend({
  runner: z.object({ id: z.uuid(), name: z.string(), host: z.string() }).nullable(),
});
export const ActiveExecutions = z.object({ items: z.array(ActiveExecution) });
export const ExecutionList = Page(Execution);
export const ExecutionListQuery = z.strictObject({ ...PageQuery });

/** A failure's code: what a program can switch on (`PAYLOAD_INVALID`, `PERMANENT`, `CARD_DECLINED`, …). */
export const ErrorCode = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_.-]{0,99}$/, 'must be 1-100 letters, digits, "_", "." or "-"');

/** What a runner reports for one execution. */
/** When the handler started, by the runner's clock: gives claim-to-start latency. */
const startedAt = TimestampInput.optional();
export const Outcome = z.discriminatedUnion('status', [
  z
    .strictObject({
      status: z.literal('SUCCEEDED'),
      result: z.unknown().optional(),
      /**
       * Sent instead of `result` when the result is too large to send (a report answered 413 alone): its size as
       * JSON, in bytes. The orchestrator records the attempt as a permanent failure, `RESULT_TOO_LARGE`.
       */
      resultBytes: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
      startedAt,
    })
    .refine((o) => o.result === undefined || o.resultBytes === undefined, {
      message: 'send either result or resultBytes, not both',
      path: ['resultBytes'],
    }),
  z.strictObject({
    status: z.literal('FAILED'),
    error: z.string().min(1).max(10_000),
    /** false: a permanent failure (bad input, a refused card): no more attempts, straight to the dead-letter queue. */
    retryable: z.boolean().optional(),
    /** A stable code for the failure; a permanent failure without one is stored as `PERMANENT`. */
    code: ErrorCode.optional(),
    startedAt,
  }),
  z.strictObject({ status: z.literal('CANCELLED'), error: z.string().max(10_000).optional(), startedAt }),
]);
export type Outcome = z.infer<typeof Outcome>;

export const CompleteBody = z.strictObject({
  runnerId: z.uuid(),
  outcome: Outcome,
});
export type CompleteBody = z.infer<typeof CompleteBody>;

export const CompleteBatchBody = z.strictObject({
  runnerId: z.uuid(),
  results: z
    .array(z.strictObject({ executionId: Id, outcome: Outcome }))
    .min(1)
    .max(1000),
});
export type CompleteBatchBody = z.infer<typeof CompleteBatchBody>;

/**
 * `recorded`: this report was written now; `duplicate`: the same report was already recorded (same answer
 * as the first time); `conflict`: the runner no longer holds the execution (lease lost, different outcome
 * already recorded, or never held) and nothing changed.
 */
export const CompletionVerdict = z.enum(['recorded', 'duplicate', 'conflict']);
export type CompletionVerdict = z.infer<typeof CompletionVerdict>;

export const CompleteBatchReply = z.object({
  results: z.array(
    z.object({ executionId: Id, verdict: CompletionVerdict, status: ExecutionStatus.nullable() }),
  ),
});
export type CompleteBatchReply = z.infer<typeof CompleteBatchReply>;
