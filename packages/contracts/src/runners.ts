import { z } from 'zod';
import { Id, Timestamp } from './common.js';

export const RunnerStatus = z.enum(['ONLINE', 'DRAINING', 'OFFLINE']);

export const RegisterRunnerBody = z
  .strictObject({
    /** A runner that restarts may send the id it had, to keep one row per runner in `GET /runners`. */
    id: z.uuid().optional(),
    name: z.string().min(1).max(200),
    host: z.string().min(1).max(255),
    types: z.array(z.string().min(1).max(100)).min(1).max(200),
    capacity: z.number().int().min(1).max(10_000),
  })
  .meta({
    examples: [
      { name: 'runner-1', host: 'worker-a', types: ['echo', 'noop', 'sleep', 'webhook'], capacity: 10 },
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

export const HeartbeatBody = z.strictObject({
  /** Executions the runner is working on; any it no longer holds come back in `cancel`. */
  running: z.array(Id).max(10_000).default([]),
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
  status: RunnerStatus,
  running: z.number().int(),
  registeredAt: Timestamp,
  lastHeartbeatAt: Timestamp,
});
export type Runner = z.infer<typeof Runner>;
export const RunnerList = z.object({ items: z.array(Runner) });
