/**
 * The errors the orchestrator answers with, in one list: every code a client can meet, with its HTTP status.
 * Services, the lifecycle and authentication throw AppError; only http/errors.ts turns it into a response
 * (problem+json), so nothing below the HTTP layer knows about HTTP beyond this table.
 */
export const ERROR_CODES = {
  /** A field of the request is invalid; `errors` names each field. */
  VALIDATION_FAILED: 400,
  /** A malformed request Fastify refused before validation (bad JSON, wrong content type). */
  BAD_REQUEST: 400,
  UNAUTHENTICATED: 401,
  /** The key lacks the route's scope. */
  FORBIDDEN: 403,
  /** A runner id registered under another key. */
  NOT_YOUR_RUNNER: 403,
  NOT_FOUND: 404,
  ROUTE_NOT_FOUND: 404,
  /** The job's state does not allow the change (see docs/lifecycle.md). */
  JOB_STATE: 409,
  /** Cancel of a job that already ended. */
  JOB_FINISHED: 409,
  /** Trigger of a running, paused or cancelled job. */
  JOB_NOT_TRIGGERABLE: 409,
  /** Requeue of a dead letter whose job is cancelled. */
  JOB_CANCELLED: 409,
  ALREADY_REQUEUED: 409,
  RUNNER_OFFLINE: 409,
  /** A report about an execution the runner does not hold (any more). */
  NOT_HOLDER: 409,
  /** A unique key's holder changed status again and again while a job with that key was created. */
  UNIQUE_CONFLICT: 409,
  RATE_LIMITED: 429,
  INTERNAL: 500,
  DATABASE_UNAVAILABLE: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface FieldError {
  field: string;
  message: string;
}

/** An error the API answers with: a stable code (its HTTP status follows from it) and, for bad input, the fields. */
export class AppError extends Error {
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly errors?: FieldError[],
  ) {
    super(message);
    this.status = ERROR_CODES[code];
  }
}

export const badRequest = (field: string, message: string) =>
  new AppError('VALIDATION_FAILED', `${field}: ${message}`, [{ field, message }]);
export const notFound = (what: string, id: number | string) =>
  new AppError('NOT_FOUND', `${what} ${id} does not exist`);
