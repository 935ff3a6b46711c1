import { setTimeout as sleep } from 'node:timers/promises';

/** A 5xx answer a client got: when the request was sent and answered, where, and what. */
export interface ServerError {
  sentAt: number;
  answeredAt: number;
  url: string;
  request: string;
  status: number;
  code?: string;
}

export interface Answer<T> {
  status: number;
  body: T;
}

/** Longest a single request may take (a long-poll-free API answers in milliseconds; PostgreSQL may be down). */
const REQUEST_TIMEOUT_MS = 30_000;

/**
 * The chaos run's HTTP client of the orchestrators, as a careful user would write one: a request that cannot be
 * answered (the replica was killed, PostgreSQL is down: a connection error or a 5xx) is sent again to the other
 * replica after a short pause, until it is answered or its deadline passes. Every 5xx is recorded.
 */
export class ChaosApi {
  readonly serverErrors: ServerError[] = [];
  connectionErrors = 0;
  requests = 0;
  private next = 0;

  constructor(private readonly urls: () => string[]) {}

  /**
   * `method path` with a JSON body, retried across replicas until an answer below 500 comes back (which is
   * returned, whatever it is) or `deadline` (epoch ms) passes, then throws.
   */
  async call<T>(method: 'GET' | 'POST', path: string, body: unknown, deadline: number): Promise<Answer<T>> {
    let pause = 100;
    for (;;) {
      const urls = this.urls();
      const url = urls[this.next++ % urls.length]!;
      const answer = await this.once<T>(url, method, path, body);
      if (answer && answer.status < 500) return answer;
      if (Date.now() + pause > deadline) {
        throw new Error(`${method} ${path}: no answer below 500 before the deadline`);
      }
      await sleep(pause);
      pause = Math.min(pause * 2, 1_000);
    }
  }

  /** One request to one replica: its answer, or undefined when it could not be sent or read. */
  async once<T>(url: string, method: string, path: string, body?: unknown): Promise<Answer<T> | undefined> {
    this.requests++;
    const sentAt = Date.now();
    try {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      const text = await res.text();
      let parsed: unknown;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        parsed = text;
      }
      if (res.status >= 500) {
        this.serverErrors.push({
          sentAt,
          answeredAt: Date.now(),
          url,
          request: `${method} ${path.split('?')[0]}`,
          status: res.status,
          code: (parsed as { code?: string } | undefined)?.code,
        });
      }
      return { status: res.status, body: parsed as T };
    } catch {
      this.connectionErrors++;
      return undefined;
    }
  }
}
