import { z } from 'zod';
import { JobTypeName, Timestamp } from './common.js';

/**
 * Every kind of event `GET /events` carries (issue 13, the event contract shared with the dashboard). Kinds may be
 * added, never renamed.
 */
export const EVENT_KINDS = [
  'job.created',
  'job.cancelled',
  'job.paused',
  'job.resumed',
  'job.rescheduled',
  'job.triggered',
  'job.deleted',
  'job.succeeded',
  'job.failed',
  'job.dead_lettered',
  'job.requeued',
  'job.released',
  'execution.claimed',
  'execution.started',
  'execution.succeeded',
  'execution.failed',
  'execution.timed_out',
  'execution.cancelled',
  'execution.retry_scheduled',
  'schedule.occurrence',
  'runner.online',
  'runner.draining',
  'runner.offline',
  'timer.fired',
  'queue.configured',
  'queue.paused',
  'queue.resumed',
] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

/** One event as the stream sends it (the `data:` line of an SSE message). */
export const HourglassEvent = z.object({
  /** Strictly increasing in the order clients see events; the SSE `id:` and what `after`/Last-Event-ID take. */
  id: z.number().int().positive(),
  kind: z.enum(EVENT_KINDS),
  at: Timestamp,
  jobId: z.number().int().nullable(),
  executionId: z.number().int().nullable(),
  runnerId: z.string().nullable(),
  jobType: z.string().nullable(),
  /** What a UI needs about the change: status, attempt, error, result size and the like (per kind). */
  data: z.record(z.string(), z.unknown()),
});
export type HourglassEvent = z.infer<typeof HourglassEvent>;

/**
 * `kinds`: a comma-separated list of kinds, or of prefixes ending in `.*` (`execution.*`); each must name at least
 * one kind. The answer is the list of kinds it stands for.
 */
export const EventKindsFilter = z
  .string()
  .max(2000)
  .transform((s, ctx) => {
    const kinds = new Set<EventKind>();
    for (const raw of s.split(',')) {
      const item = raw.trim();
      if (!item) continue;
      const matched = item.endsWith('.*')
        ? EVENT_KINDS.filter((k) => k.startsWith(item.slice(0, -1)))
        : EVENT_KINDS.filter((k) => k === item);
      if (matched.length === 0) {
        ctx.addIssue({ code: 'custom', message: `'${item}' is not an event kind (nor a prefix.* of one)` });
        return z.NEVER;
      }
      for (const k of matched) kinds.add(k);
    }
    if (kinds.size === 0) {
      ctx.addIssue({ code: 'custom', message: 'names no kind' });
      return z.NEVER;
    }
    return [...kinds];
  });

/** An event id as a query parameter or Last-Event-ID: 0 (from the start of what is kept) or a positive integer. */
export const EventCursor = z
  .string()
  .regex(/^(0|[1-9][0-9]{0,15})$/, 'must be an event id (a non-negative integer)')
  .transform(Number)
  .pipe(z.number().max(Number.MAX_SAFE_INTEGER));

/** Query of `GET /events`. Without `after` (or a Last-Event-ID header) the stream starts with new events only. */
export const EventsQuery = z.strictObject({
  jobId: z
    .string()
    .regex(/^[1-9][0-9]{0,15}$/, 'must be a positive integer')
    .transform(Number)
    .pipe(z.number().max(Number.MAX_SAFE_INTEGER))
    .optional(),
  type: JobTypeName.optional(),
  kinds: EventKindsFilter.optional(),
  after: EventCursor.optional(),
  /**
   * `false`: end the stream once it has sent what exists at the time of the request (a script or a test reading
   * history; `curl`). Default `true`: follow new events until the client goes away.
   */
  follow: z
    .enum(['true', 'false'], { error: 'must be true or false' })
    .default('true')
    .transform((v) => v === 'true'),
});
export type EventsQuery = z.output<typeof EventsQuery>;
