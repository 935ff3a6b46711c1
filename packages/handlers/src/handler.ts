import type { z } from 'zod';
import type { WebhookSettings } from './webhook/webhook.js';

/** Process-wide settings handlers may need, from the runner's configuration. */
export interface HandlerSettings {
  webhook: WebhookSettings;
}

export interface HandlerContext {
  executionId: number;
  jobId: number;
  attempt: number;
  /** When this occurrence was due (ISO-8601). */
  scheduledFor: string;
  settings: HandlerSettings;
  /** Aborted when the execution times out, is cancelled, or the runner shuts down past its grace period. */
  signal: AbortSignal;
}

/** One job type: the schema its payload must satisfy and the function that runs it. */
export interface Handler<S extends z.ZodType = z.ZodType> {
  type: string;
  payload: S;
  /** Resolves with the execution's result (stored as JSON); throws or rejects to fail the attempt. */
  run(payload: z.output<S>, ctx: HandlerContext): Promise<unknown>;
}

export function defineHandler<S extends z.ZodType>(handler: Handler<S>): Handler<S> {
  return handler;
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
