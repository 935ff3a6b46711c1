import { ApiClient } from './http.js';
import { openLoop } from './open-loop.js';
import { type Stack, sleep } from './stack.js';
import { type LatencySummary, summarize } from './stats.js';

export interface LatencyOptions {
  samples: number;
  /** Jobs created per second, each by its own POST /jobs. */
  rate: number;
  timeoutMs: number;
}

export interface LatencyResult extends LatencySummary {
  /** The rate the requests were actually sent at. */
  achievedRate: number;
  /** Every sample (ms), for callers that pool several runs. */
  samples: number[];
}

/** Wall-clock epoch milliseconds with sub-millisecond resolution (the runner reports Date-based ISO times). */
const epochMs = () => performance.timeOrigin + performance.now();

/**
 * `samples` single `POST /jobs` (noop) sent open-loop at `rate` per second to a stack whose runners are idle
 * and long-polling. Latency of a job = its handler's start (executions.started_at, reported by the runner
 * from its own clock; same machine) − the moment its POST returned here. A handler can start before the
 * HTTP answer reaches the client, so small negative values are possible and kept as measured.
 */
export async function runLatency(stack: Stack, opts: LatencyOptions): Promise<LatencyResult> {
  const api = new ApiClient(stack.url, 16);
  const timeoutS = opts.timeoutMs / 1000;
  const returnedAt = new Map<number, number>();
  const body = JSON.stringify({ type: 'noop' });
  try {
    const start = performance.now();
    const deadline = start + opts.timeoutMs;
    const sentFor = await openLoop(
      opts.samples,
      opts.rate,
      () => stack.assertAlive(),
      async () => {
        const job = await api.post<{ id: number }>('/jobs', body);
        returnedAt.set(job.id, epochMs());
      },
    );

    const ids = [...returnedAt.keys()];
    for (let polls = 0; ; polls++) {
      stack.assertAlive();
      const { rows } = await stack.db.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM executions WHERE job_id = ANY($1::bigint[]) AND status = 'SUCCEEDED'",
        [ids],
      );
      if (rows[0]!.n === ids.length) break;
      if (performance.now() > deadline) {
        throw new Error(
          `latency: ${ids.length - rows[0]!.n} of ${ids.length} jobs not SUCCEEDED after ${timeoutS} s (${polls} polls)`,
        );
      }
      await sleep(50);
    }

    const { rows } = await stack.db.query<{ job_id: number; started_ms: number; n: number }>(
      `SELECT job_id::float8 AS job_id, extract(epoch FROM min(started_at))::float8 * 1000 AS started_ms,
              count(*)::int AS n
       FROM executions WHERE job_id = ANY($1::bigint[]) GROUP BY job_id`,
      [ids],
    );
    const samples: number[] = [];
    for (const r of rows) {
      if (r.n !== 1) throw new Error(`latency: job ${r.job_id} ran ${r.n} times`);
      samples.push(r.started_ms - returnedAt.get(r.job_id)!);
    }
    if (samples.length !== opts.samples) {
      throw new Error(`latency: ${samples.length} handler starts found for ${opts.samples} jobs`);
    }
    return { ...summarize(samples), achievedRate: (opts.samples - 1) / sentFor, samples };
  } finally {
    await api.close();
  }
}
