import { z } from 'zod';

/**
 * The payloads of the built-in job types. The orchestrator checks them when a job is created (a runner's declared
 * schema never replaces these) and the built-in handlers of @hourglass/runner parse them (filling defaults).
 */

/** The header carrying `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` on webhook deliveries. */
export const SIGNATURE_HEADER = 'hourglass-signature';

const RESERVED_HEADERS = new Set([
  'host',
  'content-type',
  'content-length',
  'user-agent',
  'idempotency-key',
  SIGNATURE_HEADER,
]);

/** Extra request headers a client may set: `authorization` and custom `x-…` ones (not proxy headers). */
export const WebhookHeaders = z
  .record(
    z
      .string()
      .toLowerCase()
      .refine(
        (h) =>
          /^(authorization|x-[a-z0-9-]+)$/.test(h) &&
          !h.startsWith('x-forwarded-') &&
          !RESERVED_HEADERS.has(h),
        { message: 'only authorization and x-… headers may be set' },
      ),
    z
      .string()
      .max(1000)
      .regex(/^[^\r\n]*$/, 'must be one line'),
  )
  .refine((h) => Object.keys(h).length <= 10, { message: 'at most 10 headers' });

export const WebhookUrl = z
  .url({ protocol: /^https?$/, error: 'must be an absolute http(s) URL' })
  .max(2048)
  .refine((u) => u.trim() === u && u.length > 0, { message: 'must not be blank' });

/** `webhook`: POST to `url` (what timers and completion callbacks are made of). */
export const WebhookPayload = z.strictObject({
  url: WebhookUrl,
  payload: z.unknown().optional(),
  headers: WebhookHeaders.optional(),
  /** POST `payload` itself as the body instead of the timer envelope `{timerId, scheduledFor, firedAt, payload}`. */
  raw: z.boolean().optional(),
  /** The Idempotency-Key header of every attempt (default `timer-<job id>[-<occurrence>]`). */
  idempotencyKey: z.string().min(1).max(200).optional(),
});
export type WebhookPayload = z.output<typeof WebhookPayload>;

/** `sleep`: simulated work of the original design: takes a while, then fails with some probability. */
export const SleepPayload = z
  .strictObject({
    durationMs: z.number().int().min(0).max(3_600_000).default(1000),
    failureRate: z.number().min(0).max(1).default(0),
    /** Deterministic failures for demos and tests: attempts 1..failAttempts fail, later ones succeed. */
    failAttempts: z.number().int().min(0).max(100).default(0),
  })
  .default({ durationMs: 1000, failureRate: 0, failAttempts: 0 });
export type SleepPayload = z.output<typeof SleepPayload>;

/** Every built-in type and its payload schema. Runners may serve these names; their schemas are these. */
export const BUILTIN_PAYLOADS = {
  noop: z.unknown(),
  echo: z.unknown(),
  sleep: SleepPayload,
  webhook: WebhookPayload,
} as const;
export type BuiltinType = keyof typeof BUILTIN_PAYLOADS;
export const BUILTIN_TYPES = Object.keys(BUILTIN_PAYLOADS).sort() as BuiltinType[];

export function isBuiltinType(type: string): type is BuiltinType {
  return Object.hasOwn(BUILTIN_PAYLOADS, type);
}
