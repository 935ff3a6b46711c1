/**
 * Thrown by a handler for a failure that another attempt cannot fix (bad input, a refused card, a deleted
 * record): the attempt fails for good, no retries, and the job goes straight to the dead-letter queue. Any other
 * error fails the attempt and it is retried per the job's policy (BullMQ's UnrecoverableError, River's JobCancel).
 *
 * `code` is stored on the execution (`errorCode`) for programs to switch on; without one it is `PERMANENT`.
 */
export class PermanentError extends Error {
  readonly code: string | undefined;

  constructor(message: string, options: { code?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PermanentError';
    this.code = options.code;
  }
}
