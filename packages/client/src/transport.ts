import { errorFromResponse, HourglassError } from './errors.js';

export const DEFAULT_URL = 'http://127.0.0.1:8080';
export const DEFAULT_TIMEOUT_MS = 30_000;

export interface RetryOptions {
  /** Retries after the first attempt (default 3); 0 turns retrying off. */
  retries?: number;
  /** The first retry's delay when the server names none; it doubles on each retry, with jitter (default 250 ms). */
  initialDelayMs?: number;
  /** The longest such delay (default 5,000 ms). */
  maxDelayMs?: number;
  /**
   * The longest `Retry-After` the client waits out (default 60,000 ms, a rate limit's whole window). When the server
   * asks for longer, the call fails at once with the 429 or 503, whose `retryAfterMs` says how long.
   */
  maxRetryAfterMs?: number;
}

/** Per call: every method takes these last. */
export interface CallOptions {
  /** Aborts the call, retries and waits included; the call rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Time limit of each attempt, answer body included (default: the client's `timeoutMs`). */
  timeoutMs?: number;
}

export interface TransportOptions {
  url: string;
  apiKey?: string;
  timeoutMs: number;
  retry: Required<RetryOptions>;
  fetch: typeof fetch;
  headers: Record<string, string>;
}

export interface RequestSpec extends CallOptions {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  headers?: Record<string, string>;
  /**
   * Sending it twice has the effect of sending it once (a read, a PATCH, a create with an idempotency key): then a
   * network error, a timeout, 502, 503 or 504 are retried too. Any call is retried after a 429, which the server
   * answers before it does anything (the rate limit is checked ahead of the route).
   */
  idempotent: boolean;
}

const RETRIED_WHEN_IDEMPOTENT = new Set([0, 502, 503, 504]);

/** One JSON request with its timeout, abort signal and retries. Built on `fetch` alone: Node.js ≥ 20 and browsers. */
export class Transport {
  readonly url: string;

  constructor(private readonly options: TransportOptions) {
    this.url = options.url.replace(/\/+$/, '');
  }

  async request<T>(spec: RequestSpec): Promise<T> {
    const request = `${spec.method} ${spec.path}`;
    for (let attempt = 0; ; attempt++) {
      spec.signal?.throwIfAborted();
      let failure: HourglassError;
      try {
        return await this.once<T>(spec, request);
      } catch (err) {
        // An abort the caller asked for ends everything, as fetch's own abort does.
        if (spec.signal?.aborted) throw spec.signal.reason;
        if (!(err instanceof HourglassError)) throw err;
        failure = err;
      }
      const delay = this.retryDelay(failure, spec.idempotent, attempt);
      if (delay === undefined) throw failure;
      await sleep(delay, spec.signal);
    }
  }

  private async once<T>(spec: RequestSpec, request: string): Promise<T> {
    const timeoutMs = spec.timeoutMs ?? this.options.timeoutMs;
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    const relay = () => controller.abort(spec.signal?.reason);
    spec.signal?.addEventListener('abort', relay, { once: true });
    try {
      const res = await this.options.fetch(this.href(spec), {
        method: spec.method,
        headers: this.headers(spec),
        body: spec.body === undefined ? undefined : JSON.stringify(spec.body),
        signal: controller.signal,
      });
      if (res.status >= 400) throw await errorFromResponse(res, request);
      const text = await res.text();
      if (res.status === 204 || text === '') return undefined as T;
      try {
        return JSON.parse(text) as T;
      } catch {
        throw new HourglassError({
          status: res.status,
          code: 'INVALID_RESPONSE',
          detail: `the answer is not JSON: ${text.slice(0, 200)}`,
          request,
        });
      }
    } catch (err) {
      if (err instanceof HourglassError || spec.signal?.aborted) throw err;
      throw timedOut
        ? new HourglassError({
            status: 0,
            code: 'TIMEOUT',
            detail: `no answer within ${timeoutMs} ms`,
            request,
            cause: err,
          })
        : new HourglassError({
            status: 0,
            code: 'NETWORK_ERROR',
            detail: `could not reach ${this.url}: ${describe(err)}`,
            request,
            cause: err,
          });
    } finally {
      clearTimeout(timer);
      spec.signal?.removeEventListener('abort', relay);
    }
  }

  /**
   * Opens a streaming answer (`GET /events`): the response once its headers came, its body unread. An error answer
   * is thrown as HourglassError; no retries (the caller reconnects as it sees fit) and no time limit (a stream may
   * be quiet for long: the server's keep-alive comments are what show it is alive).
   */
  async open(spec: Omit<RequestSpec, 'idempotent' | 'body'>): Promise<Response> {
    const request = `${spec.method} ${spec.path}`;
    let res: Response;
    try {
      res = await this.options.fetch(this.href({ ...spec, idempotent: true }), {
        method: spec.method,
        headers: { ...this.headers({ ...spec, idempotent: true }), accept: 'text/event-stream' },
        signal: spec.signal,
      });
    } catch (err) {
      if (spec.signal?.aborted) throw err;
      throw new HourglassError({
        status: 0,
        code: 'NETWORK_ERROR',
        detail: `could not reach ${this.url}: ${describe(err)}`,
        request,
        cause: err,
      });
    }
    if (res.status >= 400) throw await errorFromResponse(res, request);
    if (!res.body) {
      throw new HourglassError({ status: res.status, code: 'INVALID_RESPONSE', detail: 'no body', request });
    }
    return res;
  }

  /** The delay before the n-th retry (from 0) when the server names none, as `request` waits between attempts. */
  backoff(attempt: number): number {
    const { initialDelayMs, maxDelayMs } = this.options.retry;
    const delay = Math.min(maxDelayMs, initialDelayMs * 2 ** attempt);
    return delay / 2 + Math.random() * (delay / 2);
  }

  /** How long to wait before trying again, or undefined when the failure is final. */
  private retryDelay(failure: HourglassError, idempotent: boolean, attempt: number): number | undefined {
    const { retries, initialDelayMs, maxDelayMs, maxRetryAfterMs } = this.options.retry;
    if (attempt >= retries) return undefined;
    const retried = failure.status === 429 || (idempotent && RETRIED_WHEN_IDEMPOTENT.has(failure.status));
    if (!retried) return undefined;
    if (failure.retryAfterMs !== undefined) {
      return failure.retryAfterMs <= maxRetryAfterMs ? failure.retryAfterMs : undefined;
    }
    // Jitter over [delay/2, delay]: clients that failed together do not come back together.
    const delay = Math.min(maxDelayMs, initialDelayMs * 2 ** attempt);
    return delay / 2 + Math.random() * (delay / 2);
  }

  private href(spec: RequestSpec): string {
    const query = new URLSearchParams();
    for (const [name, value] of Object.entries(spec.query ?? {})) {
      if (value !== undefined) query.set(name, String(value));
    }
    const search = query.toString();
    return `${this.url}${spec.path}${search ? `?${search}` : ''}`;
  }

  private headers(spec: RequestSpec): Record<string, string> {
    return {
      accept: 'application/json',
      ...(spec.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(this.options.apiKey ? { authorization: `Bearer ${this.options.apiKey}` } : {}),
      ...this.options.headers,
      ...spec.headers,
    };
  }
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** fetch's "fetch failed" hides the reason in `cause` (ECONNREFUSED, "other side closed"): show both. */
function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? err.cause.message : undefined;
  return cause && cause !== err.message ? `${err.message} (${cause})` : err.message;
}
