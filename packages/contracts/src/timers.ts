import { z } from 'zod';
import { WebhookUrl } from './builtin-types.js';
import { Id, Timestamp } from './common.js';

const MAX_TIMER_SECONDS = 366 * 86_400;
const part = (max: number) =>
  z.number({ error: 'must be an integer ≥ 0' }).int('must be an integer').min(0).max(max).default(0);

/**
 * Body of `POST /timers`: fire `url` once after hours + minutes + seconds. Missing parts are 0; at least one
 * must be positive, and the total at most 366 days.
 */
export const CreateTimerBody = z
  .strictObject({
    hours: part(MAX_TIMER_SECONDS / 3600),
    minutes: part(MAX_TIMER_SECONDS / 60),
    seconds: part(MAX_TIMER_SECONDS),
    url: z
      .string({ error: 'is required' })
      .trim()
      .min(1, 'must not be blank')
      .pipe(z.url({ protocol: /^https?$/, error: 'must be an absolute http(s) URL' }).max(2048)),
    payload: z.unknown().optional(),
    headers: z.record(z.string(), z.string()).optional(),
    maxAttempts: z.number().int().min(1).max(100).optional(),
    idempotencyKey: z.string().min(1).max(200).optional(),
    /** Completion callback: the timer's job POSTed here once final (see CreateJobBody.callbackUrl). */
    callbackUrl: WebhookUrl.optional(),
  })
  .refine((b) => b.hours + b.minutes + b.seconds > 0, {
    message: 'hours, minutes and seconds are all 0: at least one must be positive',
    path: ['seconds'],
  })
  .refine((b) => b.hours * 3600 + b.minutes * 60 + b.seconds <= MAX_TIMER_SECONDS, {
    message: 'the timer may run at most 366 days',
    path: ['hours'],
  })
  .meta({
    examples: [{ hours: 4, minutes: 0, seconds: 1, url: 'https://example.com/hook', payload: { order: 42 } }],
  });
export type CreateTimerBody = z.infer<typeof CreateTimerBody>;

export const CreatedTimer = z.object({ id: Id, time_left: z.number().int() });

export const Timer = z.object({
  id: Id,
  time_left: z.number().int(),
  url: z.string(),
  status: z.string(),
  fire_at: Timestamp,
  fired_at: Timestamp.nullable(),
  attempts: z.number().int(),
  last_error: z.string().nullable(),
});
export type Timer = z.infer<typeof Timer>;
