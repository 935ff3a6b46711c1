import { ApiClient } from './http.js';
import { type Stack, sleep } from './stack.js';

export interface ThroughputOptions {
  jobs: number;
  /** Jobs per POST /jobs/batch (the API takes up to 1,000). */
  batchSize: number;
  /** Batch requests in flight at once. */
  parallel: number;
  timeoutMs: number;
  pollMs: number;
  /**
   * On a database with other work in it (the backlog scenario): only executions with an id above this are the
   * run's, and only its own type counts as unfinished.
   */
  since?: number;
  /** Run the jobs in this queue, configured with these settings first, spread over `keys` concurrency keys. */
  queue?: QueueRun;
}

export interface QueueRun {
  name: string;
  settings: Record<string, unknown>;
  keys?: number;
}

/** The limited runs of issue 14, beside the unlimited one. */
export const QUEUE_RUNS = {
  perKey: {
    label: '100 keys, perKeyConcurrency 1',
    run: { name: 'per-key', settings: { perKeyConcurrency: 1 }, keys: 100 },
  },
  concurrency: { label: 'queue concurrency 50', run: { name: 'limited', settings: { concurrency: 50 } } },
} satisfies Record<string, { label: string; run: QueueRun }>;

/** The throughput scenario's run: `jobs` noop jobs, batches of 1,000, 4 requests in flight, polled every 25 ms. */
export const throughputRun = (
  jobs: number,
  timeoutMs: number,
  since?: number,
  queue?: QueueRun,
): ThroughputOptions => ({
  jobs,
  batchSize: 1000,
  parallel: 4,
  timeoutMs,
  pollMs: 25,
  since,
  queue,
});

export interface ThroughputResult {
  jobs: number;
  /** Create-to-complete: first create request sent → every job SUCCEEDED. */
  seconds: number;
  jobsPerSecond: number;
  /** First create request sent → last create answered. */
  createSeconds: number;
  createPerSecond: number;
}

// Is anything unfinished? EXISTS through the partial indexes (claimable, waiting, leases) stops at the first row
// instead of counting or scanning the table, so polling costs the database next to nothing.
const UNFINISHED_SQL = `
  SELECT EXISTS (SELECT 1 FROM executions WHERE status = 'PENDING' AND ready)
      OR EXISTS (SELECT 1 FROM executions WHERE status = 'PENDING' AND NOT ready)
      OR EXISTS (SELECT 1 FROM executions WHERE status = 'RUNNING') AS unfinished`;

// The same for the run's noop jobs alone, on a database where other types wait (the backlog scenario).
const UNFINISHED_NOOP_SQL = `
  SELECT EXISTS (SELECT 1 FROM executions WHERE status = 'PENDING' AND ready AND job_type = 'noop')
      OR EXISTS (SELECT 1 FROM executions WHERE status = 'RUNNING') AS unfinished`;

/**
 * `jobs` noop jobs through the running stack, create-to-complete. The clock starts before the first create
 * request; jobs are created in batches, `parallel` requests at a time, while the runners are already
 * long-polling; it stops when the database shows no unfinished execution left (polled every `pollMs` once
 * every create has been answered). Afterwards every job must be SUCCEEDED, exactly once.
 */
export async function runThroughput(stack: Stack, opts: ThroughputOptions): Promise<ThroughputResult> {
  const api = new ApiClient(stack.url, opts.parallel);
  const bodies: string[] = [];
  const q = opts.queue;
  if (q) await api.put(`/queues/${q.name}`, q.settings);
  let n = 0;
  const job = q
    ? () => ({ type: 'noop', queue: q.name, ...(q.keys ? { concurrencyKey: `k${n++ % q.keys}` } : {}) })
    : () => ({ type: 'noop' });
  for (let left = opts.jobs; left > 0; left -= opts.batchSize) {
    const size = Math.min(opts.batchSize, left);
    bodies.push(JSON.stringify({ jobs: Array.from({ length: size }, job) }));
  }
  const timeoutS = opts.timeoutMs / 1000;
  try {
    const start = performance.now();
    const deadline = start + opts.timeoutMs;
    let next = 0;
    let failed = false;
    const sender = async () => {
      while (!failed && next < bodies.length) {
        const body = bodies[next++]!;
        if (performance.now() > deadline)
          throw new Error(`throughput: creating jobs took over ${timeoutS} s`);
        await api.post<{ jobs: unknown[] }>('/jobs/batch', body).catch((err) => {
          failed = true;
          throw err;
        });
      }
    };
    await Promise.all(Array.from({ length: Math.min(opts.parallel, bodies.length) }, sender));
    const created = performance.now();

    let end: number;
    for (let polls = 0; ; polls++) {
      stack.assertAlive();
      const { rows } = await stack.db.query<{ unfinished: boolean }>(
        opts.since === undefined ? UNFINISHED_SQL : UNFINISHED_NOOP_SQL,
      );
      end = performance.now();
      if (!rows[0]!.unfinished) break;
      if (end > deadline) {
        const { rows: left } = await stack.db.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM executions WHERE status IN ('PENDING', 'RUNNING')",
        );
        throw new Error(
          `throughput: ${left[0]!.n} of ${opts.jobs} jobs still unfinished after ${timeoutS} s (${polls} polls)`,
        );
      }
      await sleep(opts.pollMs);
    }

    const { rows: byStatus } = await stack.db.query<{ status: string; n: number; jobs: number }>(
      `SELECT status, count(*)::int AS n, count(DISTINCT job_id)::int AS jobs FROM executions
       WHERE id > $1 GROUP BY status`,
      [opts.since ?? 0],
    );
    const succeeded = byStatus.find((r) => r.status === 'SUCCEEDED');
    if (byStatus.length !== 1 || succeeded?.n !== opts.jobs || succeeded.jobs !== opts.jobs) {
      throw new Error(
        `throughput: expected ${opts.jobs} SUCCEEDED executions of distinct jobs, found ${JSON.stringify(byStatus)}`,
      );
    }

    const seconds = (end - start) / 1000;
    const createSeconds = (created - start) / 1000;
    return {
      jobs: opts.jobs,
      seconds,
      jobsPerSecond: opts.jobs / seconds,
      createSeconds,
      createPerSecond: opts.jobs / createSeconds,
    };
  } finally {
    await api.close();
  }
}
