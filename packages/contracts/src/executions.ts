import { z } from 'zod';
import { Id, Page, PageQuery, Timestamp } from './common.js';

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
  result: z.unknown(),
});
export type Execution = z.infer<typeof Execution>;

export const ActiveExecution = Execution.extend({
  runner: z.object({ id: z.uuid(), name: z.string(), host: z.string() }).nullable(),
});
export const ActiveExecutions = z.object({ items: z.array(ActiveExecution) });
export const ExecutionList = Page(Execution);
export const ExecutionListQuery = z.strictObject({ ...PageQuery });

/** What a runner reports for one execution. */
/** When the handler started, by the runner's clock: gives claim-to-start latency. */
const startedAt = Timestamp.optional();
export const Outcome = z.discriminatedUnion('status', [
  z.strictObject({ status: z.literal('SUCCEEDED'), result: z.unknown().optional(), startedAt }),
  z.strictObject({ status: z.literal('FAILED'), error: z.string().min(1).max(10_000), startedAt }),
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
