import type { FieldError, Problem } from './types.js';

/**
 * Codes the client itself gives an error when there is no problem+json to read: no answer came (`NETWORK_ERROR`,
 * `TIMEOUT`; `status` 0), or the answer was not what the API sends (`INVALID_RESPONSE`, `HTTP_<status>` for an
 * error answer without problem details, e.g. from a proxy).
 */
export type ClientErrorCode = 'NETWORK_ERROR' | 'TIMEOUT' | 'INVALID_RESPONSE' | `HTTP_${number}`;

/**
 * Every failure of a call, but one you asked for (an aborted `signal` rejects with the signal's reason, as
 * `fetch` does). An error answer's problem+json is read into `status`, `code`, `detail` and `errors`.
 *
 *     try { await client.createJob({ type: 'echo', priority: 5000 }) }
 *     catch (err) { if (err instanceof HourglassError && err.code === 'VALIDATION_FAILED') console.log(err.errors) }
 */
export class HourglassError extends Error {
  override readonly name = 'HourglassError';
  /** The HTTP status, or 0 when no answer came (network error, timeout). */
  readonly status: number;
  /** The API's stable code (`VALIDATION_FAILED`, `NOT_FOUND`, `JOB_FINISHED`, `RATE_LIMITED`, …) or a ClientErrorCode. */
  readonly code: string;
  /** What went wrong, in a sentence. */
  readonly detail: string;
  /** For bad input: which fields, and what is wrong with each (empty otherwise). */
  readonly errors: FieldError[];
  /** The problem+json as the server sent it, when it sent one. */
  readonly problem: Problem | undefined;
  /** From `Retry-After` (429, 503): how long the server asked to wait before trying again. */
  readonly retryAfterMs: number | undefined;
  /** The request that failed, e.g. `POST /jobs`. */
  readonly request: string;

  constructor(init: {
    status: number;
    code: string;
    detail: string;
    request: string;
    errors?: FieldError[];
    problem?: Problem;
    retryAfterMs?: number;
    cause?: unknown;
  }) {
    super(`${init.request}: ${init.status ? `${init.status} ` : ''}${init.code}: ${init.detail}`, {
      cause: init.cause,
    });
    this.status = init.status;
    this.code = init.code;
    this.detail = init.detail;
    this.errors = init.errors ?? [];
    this.problem = init.problem;
    this.retryAfterMs = init.retryAfterMs;
    this.request = init.request;
  }
}

/** Reads an error answer: problem+json when the server sent it, else what there is (status and a bit of text). */
export async function errorFromResponse(res: Response, request: string): Promise<HourglassError> {
  const text = await res.text();
  const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'));
  let problem: Problem | undefined;
  try {
    const body = JSON.parse(text) as unknown;
    if (isProblem(body)) problem = body;
  } catch {
    // Not JSON (a proxy's HTML page, an empty body): described below by its status and first characters.
  }
  if (problem) {
    return new HourglassError({
      status: res.status,
      code: problem.code,
      detail: problem.detail,
      errors: problem.errors,
      problem,
      request,
      retryAfterMs,
    });
  }
  const excerpt = text.trim().slice(0, 200);
  return new HourglassError({
    status: res.status,
    code: `HTTP_${res.status}`,
    detail: excerpt || res.statusText || `answered ${res.status}`,
    request,
    retryAfterMs,
  });
}

function isProblem(body: unknown): body is Problem {
  if (typeof body !== 'object' || body === null) return false;
  const b = body as Record<string, unknown>;
  return typeof b.code === 'string' && typeof b.detail === 'string' && typeof b.status === 'number';
}

/** `Retry-After`: delay-seconds or an HTTP date (RFC 9110 §10.2.3); undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  if (/^\s*\d+\s*$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
