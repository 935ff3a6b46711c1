import {
  type Backoff,
  JOB_TYPE_PATTERN,
  type ParentResult,
  type ProgressValue,
  type TypeDeclaration,
} from '@hourglass/contracts';
import { z } from 'zod';
import type { Logger } from './logger.js';

/** What a handler gets besides its payload. */
export interface HandlerContext {
  jobId: number;
  executionId: number;
  /** This attempt's number, from 1. */
  attempt: number;
  /** Attempts in all, counting the first: `attempt === maxAttempts` is the last chance. */
  maxAttempts: number;
  type: string;
  /** When this occurrence was due (ISO-8601). */
  scheduledFor: string;
  /**
   * The same on every retry of this occurrence and different for every other occurrence (a recurring job's next
   * run, a trigger, a requeue): `<jobId>` for the job's first occurrence, `<jobId>-<n>` after. Send it as the
   * idempotency key of an outside effect, so that a retry after a lost answer is not done twice.
   */
  idempotencyKey: string;
  /**
   * The job's parents (flows: `dependsOn`), in id order, each with its id, type, status (SUCCEEDED, or FAILED /
   * CANCELLED for a job with `onParentFailure: run`) and result. Results are bounded (64 KiB of JSON in all per
   * execution): a result past the bound is null with `resultTruncated: true`. Empty for a job without parents.
   */
  parents: readonly ParentResult[];
  /**
   * Aborted when the execution is cancelled, its lease is lost, it times out, or the runner shuts down past its
   * grace period. Pass it to fetch, timers and anything else that can stop early.
   */
  signal: AbortSignal;
  /** A child of the runner's logger, with `jobId`, `executionId`, `type` and `attempt` on every line. */
  logger: Logger;
  /**
   * Reports progress: a number 0–100 or a small JSON object (at most 1 KiB). The latest value travels with the next
   * heartbeat (at most a second later) and shows on the execution as `progress`. Throws RangeError on a bad value.
   */
  progress(value: ProgressValue): void;
}

export interface RetryDefaults {
  /** Attempts in all, counting the first (1–100). */
  maxAttempts?: number;
  backoff?: Partial<Backoff>;
}

/** One job type: its name, its payload schema, and the function that runs it. */
export interface Handler<S extends z.ZodType = z.ZodType, R = unknown> {
  /** The job type served, e.g. `resize-image` (^[a-z][a-z0-9_.-]{0,99}$). */
  type: string;
  /**
   * The payload's zod schema. The runner parses every payload with it (a payload it rejects fails at once with code
   * `PAYLOAD_INVALID`, not retried) and declares it to the orchestrator as JSON Schema, which then refuses bad
   * payloads when jobs are created. Without one, any payload is accepted.
   */
  payload?: S;
  /** Time limit per attempt when the job sets none (default: the runner's `defaultTimeoutMs`). */
  timeoutMs?: number;
  /** Retry settings for jobs of this type that set none (declared to the orchestrator, which applies them). */
  retry?: RetryDefaults;
  /**
   * Runs one attempt. Its return value (JSON) is stored as the execution's result. Throwing fails the attempt (it
   * is retried); throwing PermanentError fails it for good.
   */
  handle(payload: z.output<S>, ctx: HandlerContext): Promise<R> | R;
}

/**
 * Defines a handler, typed end to end: `payload` in `handle` is the output type of the schema. Checks the type name
 * at once, so a typo fails at start-up rather than at the orchestrator.
 */
export function defineHandler<S extends z.ZodType = z.ZodUnknown, R = unknown>(
  handler: Handler<S, R>,
): Handler<S, R> {
  if (!JOB_TYPE_PATTERN.test(handler.type)) {
    throw new TypeError(
      `handler type '${handler.type}' must be 1-100 lowercase letters, digits, "_", "." or "-", starting with a letter`,
    );
  }
  if (handler.timeoutMs !== undefined && !(Number.isInteger(handler.timeoutMs) && handler.timeoutMs > 0)) {
    throw new TypeError(`handler '${handler.type}': timeoutMs must be a positive integer`);
  }
  return handler;
}

/**
 * What a runner tells the orchestrator about a handler at registration: its payload as JSON Schema (the input side:
 * what a client sends, before defaults are filled in) and its retry defaults.
 */
export function declarationOf(handler: Handler): TypeDeclaration {
  return {
    type: handler.type,
    ...(handler.payload
      ? {
          payloadSchema: z.toJSONSchema(handler.payload, { io: 'input', unrepresentable: 'any' }) as Record<
            string,
            unknown
          >,
        }
      : {}),
    ...(handler.retry ? { retry: handler.retry as TypeDeclaration['retry'] } : {}),
  };
}
