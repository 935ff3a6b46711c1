import { ApiClient } from './http.js';
import { openLoop } from './open-loop.js';
import type { Stack } from './stack.js';
import { type LatencySummary, summarize } from './stats.js';

export interface ResultOptions {
  samples: number;
  /** Jobs created per second. */
  rate: number;
  timeoutMs: number;
}

/**
 * Create-and-wait as a client does it (issue 9): `POST /jobs` (an `echo` job), then `GET /jobs/{id}?wait=30`, which
 * answers when the job is final. Sent open-loop at `rate` per second to idle long-polling runners. Time of a sample =
 * the wait's answer (with the result) − the moment the POST was sent, on one clock.
 */
export async function runCreateToResult(stack: Stack, opts: ResultOptions): Promise<LatencySummary> {
  // One connection per outstanding wait: each holds its connection until the job is done.
  const api = new ApiClient(stack.url, 64);
  try {
    const deadline = performance.now() + opts.timeoutMs;
    const samples: number[] = [];
    await openLoop(
      opts.samples,
      opts.rate,
      () => stack.assertAlive(),
      async (i) => {
        samples.push(await createAndWait(api, i, deadline));
      },
    );
    return summarize(samples);
  } finally {
    await api.close();
  }
}

type FinalJob = { status: string; lastExecution: { result: unknown } | null };

/** One sample: ms from sending the POST to holding the final job with its result. */
async function createAndWait(api: ApiClient, i: number, deadline: number): Promise<number> {
  const sentAt = performance.now();
  const { id } = await api.post<{ id: number }>('/jobs', { type: 'echo', payload: { i } });
  for (;;) {
    const job = await api.get<FinalJob>(`/jobs/${id}?wait=30`);
    if (job.status === 'SUCCEEDED' && (job.lastExecution?.result as { i?: number } | null)?.i === i) {
      return performance.now() - sentAt;
    }
    if (job.status !== 'SCHEDULED' && job.status !== 'RUNNING') {
      throw new Error(`create-to-result: job ${id} ended ${job.status}`);
    }
    if (performance.now() > deadline) throw new Error(`create-to-result: job ${id} not done in time`);
  }
}
