import { z } from 'zod';
import { Timestamp } from './common.js';
import { JobStatus } from './jobs.js';

/** Finished executions in one minute, by how they ended. */
export const ThroughputBucket = z.object({
  /** The minute's start. */
  at: Timestamp,
  succeeded: z.number().int(),
  /** FAILED and TIMED_OUT attempts (each one retried or dead-lettered). */
  failed: z.number().int(),
  cancelled: z.number().int(),
});

/**
 * `GET /stats`: the overview a dashboard opens with. `jobs` counts every job by status; `throughput` is the last
 * hour, a bucket per minute (oldest first, empty minutes included), computed from the newest
 * `throughputSample` executions at most, so it costs the same however much history is kept.
 */
export const Stats = z.object({
  at: Timestamp,
  jobs: z.record(JobStatus, z.number().int()),
  throughput: z.array(ThroughputBucket),
  /** How many of the newest executions the throughput was computed from; `throughputSampleFull`: it was capped. */
  throughputSample: z.number().int(),
  throughputSampleFull: z.boolean(),
});
export type Stats = z.infer<typeof Stats>;
