import { z } from 'zod';
import { Id, Page, PageQuery, Timestamp } from './common.js';

export const DeadLetter = z.object({
  id: Id,
  jobId: Id,
  executionId: Id,
  type: z.string(),
  attempts: z.number().int(),
  error: z.string().nullable(),
  createdAt: Timestamp,
  requeuedAt: Timestamp.nullable(),
});
export type DeadLetter = z.infer<typeof DeadLetter>;
export const DeadLetterList = Page(DeadLetter);
export const DeadLetterListQuery = z.strictObject({
  /** Requeued entries are hidden unless asked for. */
  includeRequeued: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true'),
  ...PageQuery,
});
