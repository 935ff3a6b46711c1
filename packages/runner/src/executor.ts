import {
  type ClaimedExecution,
  ErrorCode,
  type Outcome,
  type ParentResult,
  ProgressValue,
} from '@hourglass/contracts';
import { PermanentError } from './errors.js';
import type { Handler } from './handler.js';
import type { Logger } from './logger.js';

/** Why an execution's AbortSignal fired; decides what is reported. */
export type AbortReason = 'timeout' | 'cancelled' | 'shutdown';

export interface Running {
  execution: ClaimedExecution;
  controller: AbortController;
  abort(reason: AbortReason): void;
  done: Promise<Outcome>;
}

export interface ExecuteOptions {
  /** Time limit when neither the job nor the handler sets one. */
  defaultTimeoutMs: number;
  logger: Logger;
  /** Called with each valid progress report. */
  onProgress(value: ProgressValue): void;
}

/**
 * Runs one execution's handler with a time limit and an AbortSignal. The outcome does not wait for a handler that
 * ignores its signal: on timeout, cancellation or shutdown the outcome is decided at once.
 */
export function execute(
  execution: ClaimedExecution,
  handler: Handler | undefined,
  opts: ExecuteOptions,
): Running {
  const controller = new AbortController();
  let abortWith: (reason: AbortReason) => void = () => {};
  const aborted = new Promise<AbortReason>((resolve) => {
    abortWith = resolve;
  });
  const abort = (reason: AbortReason) => {
    if (controller.signal.aborted) return;
    controller.abort(new Error(`execution ${reason === 'timeout' ? 'timed out' : reason}`));
    abortWith(reason);
  };
  const timeoutMs = execution.timeoutMs ?? handler?.timeoutMs ?? opts.defaultTimeoutMs;
  const timer = setTimeout(() => abort('timeout'), timeoutMs);

  const startedAt = new Date().toISOString();
  const work = (async (): Promise<Outcome> => {
    if (!handler) {
      return { status: 'FAILED', error: `this runner has no handler for type '${execution.type}'` };
    }
    let payload: unknown = execution.payload;
    if (handler.payload) {
      const parsed = handler.payload.safeParse(execution.payload);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        const field = ['payload', ...issue.path.map(String)].join('.');
        return {
          status: 'FAILED',
          retryable: false,
          code: 'PAYLOAD_INVALID',
          error: `${field}: ${issue.message}`,
        };
      }
      payload = parsed.data;
    }
    let logger: Logger | undefined;
    const result = await handler.handle(payload, {
      jobId: execution.jobId,
      executionId: execution.id,
      attempt: execution.attempt,
      maxAttempts: execution.maxAttempts,
      type: execution.type,
      scheduledFor: execution.scheduledFor,
      idempotencyKey: idempotencyKeyOf(execution),
      parents: execution.parents ?? NO_PARENTS,
      signal: controller.signal,
      // Made on first use: most handlers never log, and a child logger per execution costs at 10,000 jobs/s.
      get logger() {
        logger ??= opts.logger.child({
          jobId: execution.jobId,
          executionId: execution.id,
          type: execution.type,
          attempt: execution.attempt,
        });
        return logger;
      },
      progress: (value) => {
        const checked = ProgressValue.safeParse(value);
        if (!checked.success) {
          throw new RangeError('progress must be a number from 0 to 100 or a JSON object of at most 1 KiB');
        }
        if (!controller.signal.aborted) opts.onProgress(checked.data);
      },
    });
    return resultOutcome(result);
  })().catch(failureOutcome);

  const done = Promise.race([
    work,
    aborted.then(
      (reason): Outcome =>
        reason === 'cancelled'
          ? { status: 'CANCELLED', error: 'cancelled on request' }
          : {
              status: 'FAILED',
              error:
                reason === 'timeout'
                  ? `handler timed out after ${timeoutMs} ms`
                  : 'runner shut down before the handler finished',
            },
    ),
  ])
    .then((outcome): Outcome => ({ ...outcome, startedAt }))
    .finally(() => clearTimeout(timer));

  return { execution, controller, abort, done };
}

const NO_PARENTS: readonly ParentResult[] = Object.freeze([]);

/** `<jobId>` for a job's first occurrence, `<jobId>-<occurrenceId>` for the others (see HandlerContext). */
export function idempotencyKeyOf(e: Pick<ClaimedExecution, 'jobId' | 'occurrenceId'>): string {
  return e.occurrenceId == null ? String(e.jobId) : `${e.jobId}-${e.occurrenceId}`;
}

/** A result is stored as JSON: one that cannot be (a BigInt, a cycle) fails the attempt for good. */
function resultOutcome(result: unknown): Outcome {
  try {
    JSON.stringify(result ?? null);
  } catch (err) {
    return {
      status: 'FAILED',
      retryable: false,
      code: 'RESULT_INVALID',
      error: `the handler's result cannot be stored as JSON: ${errorMessage(err)}`,
    };
  }
  return { status: 'SUCCEEDED', result: result ?? null };
}

/**
 * A thrown error as an outcome: PermanentError is not retried; any other error is, and a string `code` it carries
 * (Node's `ECONNREFUSED`, say) is kept as the execution's error code.
 */
function failureOutcome(err: unknown): Outcome {
  const code = ErrorCode.safeParse((err as { code?: unknown } | null)?.code);
  const validCode = code.success ? code.data : undefined;
  // By name too: a second copy of this package in node_modules has a PermanentError class of its own.
  const permanent = err instanceof PermanentError || (err as Error | null)?.name === 'PermanentError';
  return {
    status: 'FAILED',
    error: errorMessage(err),
    ...(permanent ? { retryable: false } : {}),
    ...(validCode ? { code: validCode } : {}),
  };
}

/** A message PostgreSQL can store: no NUL, not cut inside a surrogate pair, at most 10,000 characters. */
export function errorMessage(err: unknown): string {
  const msg = (err instanceof Error ? err.message : String(err)).replaceAll('\u0000', '');
  const cut = [...(msg || 'handler failed')].slice(0, 10_000).join('');
  return cut.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
}
