import type { ClaimedExecution, Outcome } from '@hourglass/contracts';
import { type HandlerSettings, registry } from '@hourglass/handlers';

/** Why an execution's AbortSignal fired; decides what is reported. */
export type AbortReason = 'timeout' | 'cancelled' | 'shutdown';

export interface Running {
  execution: ClaimedExecution;
  controller: AbortController;
  abort(reason: AbortReason): void;
  done: Promise<Outcome>;
}

/**
 * Runs one execution's handler with a time limit and an AbortSignal. The outcome does not wait for a handler
 * that ignores its signal: on timeout, cancellation or shutdown the outcome is decided at once.
 */
export function execute(
  execution: ClaimedExecution,
  defaultTimeoutMs: number,
  settings: HandlerSettings,
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
  const timeoutMs = execution.timeoutMs ?? defaultTimeoutMs;
  const timer = setTimeout(() => abort('timeout'), timeoutMs);

  const startedAt = new Date().toISOString();
  const work = (async (): Promise<Outcome> => {
    const handler = registry.get(execution.type);
    if (!handler)
      return { status: 'FAILED', error: `this runner has no handler for type '${execution.type}'` };
    const payload = handler.payload.parse(execution.payload);
    const result = await handler.run(payload, {
      executionId: execution.id,
      jobId: execution.jobId,
      attempt: execution.attempt,
      scheduledFor: execution.scheduledFor,
      settings,
      signal: controller.signal,
    });
    return { status: 'SUCCEEDED', result: result ?? null };
  })().catch((err): Outcome => ({ status: 'FAILED', error: errorMessage(err) }));

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

/** A message PostgreSQL can store: no NUL, not cut inside a surrogate pair, at most 10,000 characters. */
export function errorMessage(err: unknown): string {
  const msg = (err instanceof Error ? err.message : String(err)).replaceAll('\u0000', '');
  const cut = [...(msg || 'handler failed')].slice(0, 10_000).join('');
  return cut.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
}
