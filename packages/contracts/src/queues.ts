import { z } from 'zod';
import { JOB_TYPE_PATTERN } from './common.js';

/** A queue's name: the same rule as a type's (lowercase letters, digits, `_`, `.`, `-`, starting with a letter). */
export const QueueName = z
  .string()
  .regex(
    JOB_TYPE_PATTERN,
    'must be 1-100 lowercase letters, digits, "_", "." or "-", starting with a letter (^[a-z][a-z0-9_.-]{0,99}$)',
  );

export const DEFAULT_QUEUE = 'default';

/** A concurrency key: the group a job's per-key limits count it in (a customer, an account, a host). */
export const ConcurrencyKey = z.string().min(1).max(200);

export const QueueParams = z.strictObject({ name: QueueName });

export const RateLimit = z.strictObject({
  /** At most this many claims per period… */
  limit: z.number().int().min(1).max(1_000_000),
  /** …of this many milliseconds (a sliding window). */
  periodMs: z
    .number()
    .int()
    .min(1)
    .max(7 * 86_400_000),
  /** Count per concurrency key instead of per queue. */
  perKey: z.boolean().default(false),
});

/**
 * Body of `PUT /queues/{name}`: the queue's limits, replacing the ones it had (a field left out or null means no
 * such limit). The queue need not exist yet.
 */
export const QueueSettingsBody = z
  .strictObject({
    /** Most executions RUNNING at once in the queue. */
    concurrency: z.number().int().min(1).max(1_000_000).nullish(),
    /** Most executions RUNNING at once with the same concurrencyKey (jobs without one share the empty key). */
    perKeyConcurrency: z.number().int().min(1).max(1_000_000).nullish(),
    rateLimit: RateLimit.nullish(),
  })
  .meta({
    examples: [{ concurrency: 50 }, { perKeyConcurrency: 2, rateLimit: { limit: 100, periodMs: 60_000 } }],
  });
export type QueueSettingsBody = z.infer<typeof QueueSettingsBody>;

export const Queue = z.object({
  name: z.string(),
  paused: z.boolean(),
  concurrency: z.number().int().nullable(),
  perKeyConcurrency: z.number().int().nullable(),
  rateLimit: z
    .object({ limit: z.number().int(), periodMs: z.number().int(), perKey: z.boolean() })
    .nullable(),
  /**
   * Live counts. due: executions waiting to be claimed now; running; scheduled: waiting for a later time; failed:
   * jobs FAILED and not yet removed by retention. Each is counted up to COUNT_CAP; `countsCapped` says one reached it.
   */
  counts: z.object({
    due: z.number().int(),
    running: z.number().int(),
    scheduled: z.number().int(),
    failed: z.number().int(),
  }),
  countsCapped: z.boolean(),
  updatedAt: z.string(),
});
export type Queue = z.infer<typeof Queue>;

export const QueueList = z.object({
  items: z.array(Queue),
  /** True when there were more queues than one answer lists (QUEUE_LIST_MAX, by name). */
  truncated: z.boolean(),
});
