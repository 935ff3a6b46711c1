import {
  type CompleteBatchBody,
  type CompleteBatchReply,
  type HeartbeatBody,
  type HeartbeatReply,
  MAX_CLAIM_BATCH,
  type NextJobReply,
  type RegisterRunnerBody,
  type RegisterRunnerReply,
} from '@hourglass/contracts';
import { Pool } from 'undici';

/** An answer the runner did not expect; `status` lets callers tell "runner unknown" (404) from the rest. */
export class OrchestratorError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** From a 429's Retry-After: how long to wait before trying again. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }

  /** The request itself is refused (bad input, too large): sending it again unchanged cannot succeed. */
  get refused(): boolean {
    return this.status === 400 || this.status === 413;
  }
}

/**
 * The orchestrator's runner-facing API over one keep-alive connection pool (undici). The request and answer
 * types come from @hourglass/contracts, the package the orchestrator validates with.
 */
export class OrchestratorClient {
  private readonly pools: Pool[];
  private current = 0;
  private readonly auth: Record<string, string>;

  /** `baseUrls`: one orchestrator, or replicas to fail over between when one cannot be reached. */
  constructor(baseUrls: string | string[], apiKey?: string) {
    this.auth = apiKey ? { authorization: `Bearer ${apiKey}` } : {};
    // A long-poll holds a connection for up to a minute; heartbeats and reports need their own.
    this.pools = [baseUrls]
      .flat()
      .map((url) => new Pool(url, { connections: 8, headersTimeout: 90_000, bodyTimeout: 90_000 }));
  }

  register(body: RegisterRunnerBody) {
    return this.call<RegisterRunnerReply>('POST', '/runners/register', body);
  }

  heartbeat(runnerId: string, body: HeartbeatBody) {
    return this.call<HeartbeatReply>('POST', `/runners/${runnerId}/heartbeat`, body);
  }

  /**
   * Long-poll: resolves with claimed executions, or [] after `waitSeconds` with nothing due. Asks for at most
   * MAX_CLAIM_BATCH, which the orchestrator enforces (RUNNER_CONCURRENCY may be larger).
   */
  async nextJobs(runnerId: string, max: number, waitSeconds: number, signal?: AbortSignal) {
    const reply = await this.call<NextJobReply | undefined>(
      'POST',
      `/runners/${runnerId}/next-job?max=${Math.min(max, MAX_CLAIM_BATCH)}&wait=${waitSeconds}`,
      undefined,
      signal,
    );
    return reply?.executions ?? [];
  }

  complete(body: CompleteBatchBody) {
    return this.call<CompleteBatchReply>('POST', '/executions/complete', body);
  }

  /** `started`: executions whose handler ran here but whose report could not be delivered. */
  deregister(runnerId: string, started: number[]) {
    return this.call<unknown>('DELETE', `/runners/${runnerId}`, { started });
  }

  async close() {
    await Promise.all(this.pools.map((p) => p.close()));
  }

  private async call<T>(
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    body?: unknown,
    signal?: AbortSignal,
  ) {
    const pool = this.pools[this.current]!;
    let res: Awaited<ReturnType<Pool['request']>>;
    try {
      res = await pool.request({
        method,
        path,
        signal,
        ...(body === undefined
          ? { headers: this.auth }
          : { body: JSON.stringify(body), headers: { ...this.auth, 'content-type': 'application/json' } }),
      });
    } catch (err) {
      // Unreachable (refused, reset, timed out): the next call goes to the next replica. The caller retries.
      if (!signal?.aborted && this.pools[this.current] === pool)
        this.current = (this.current + 1) % this.pools.length;
      throw err;
    }
    if (res.statusCode === 204) {
      await res.body.dump();
      return undefined as T;
    }
    const text = await res.body.text();
    if (res.statusCode >= 300) {
      let detail = text;
      try {
        detail = JSON.parse(text).detail ?? text;
      } catch {}
      const retryAfter = Number(res.headers['retry-after']);
      throw new OrchestratorError(
        res.statusCode,
        `${method} ${path}: ${res.statusCode} ${detail}`,
        Number.isFinite(retryAfter) && retryAfter >= 0 ? retryAfter * 1000 : undefined,
      );
    }
    return JSON.parse(text) as T;
  }
}
