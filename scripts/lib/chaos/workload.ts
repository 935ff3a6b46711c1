import { setTimeout as sleep } from 'node:timers/promises';
import type { ChaosApi } from './api.js';

/** What a job of the run does, and so how it must end. */
export type JobKind = 'succeed' | 'flaky' | 'fail' | 'slow';
export const JOB_KINDS: readonly JobKind[] = ['succeed', 'flaky', 'fail', 'slow'];

export const EXPECTED_STATUS: Record<JobKind, 'SUCCEEDED' | 'FAILED'> = {
  succeed: 'SUCCEEDED',
  flaky: 'SUCCEEDED',
  fail: 'FAILED',
  slow: 'SUCCEEDED',
};

/**
 * Short backoffs, so that retries happen within the run instead of dominating it (the default is 5 s, 10 s, …).
 * Jobs meant to succeed get attempts to spare: a kill -9 of the runner holding an execution costs an attempt
 * (its lease expires: TIMED_OUT), and with a runner killed every 2 s a slow job may lose a few.
 */
const BACKOFF = { initialDelayMs: 200, factor: 2, maxDelayMs: 2_000, jitter: false };
const SPARE_ATTEMPTS = 10;

/**
 * Job `i` of the run: half succeed at once (noop, echo), a quarter fail once or twice and then succeed (the
 * built-in `sleep` handler's `failAttempts`), a tenth always fail (dead-lettered after 3 attempts), and the rest
 * are slow (0.5–2 s), so that kills find them running. The idempotency key makes a create that was cut off (its
 * orchestrator killed mid-request) safe to send again.
 */
export function jobOf(runId: string, i: number): { kind: JobKind; body: Record<string, unknown> } {
  const idempotencyKey = `chaos-${runId}-${i}`;
  const slot = i % 20;
  if (slot < 10) {
    return {
      kind: 'succeed',
      body: {
        type: slot % 2 ? 'echo' : 'noop',
        payload: { i },
        maxAttempts: SPARE_ATTEMPTS,
        backoff: BACKOFF,
        idempotencyKey,
      },
    };
  }
  if (slot < 15) {
    return {
      kind: 'flaky',
      body: {
        type: 'sleep',
        payload: { durationMs: 20, failAttempts: 1 + (i % 2) },
        maxAttempts: SPARE_ATTEMPTS,
        backoff: BACKOFF,
        idempotencyKey,
      },
    };
  }
  if (slot < 17) {
    return {
      kind: 'fail',
      body: {
        type: 'sleep',
        payload: { durationMs: 10, failAttempts: 100 },
        maxAttempts: 3,
        backoff: BACKOFF,
        idempotencyKey,
      },
    };
  }
  return {
    kind: 'slow',
    body: {
      type: 'sleep',
      payload: { durationMs: 500 + (i % 4) * 500 },
      maxAttempts: SPARE_ATTEMPTS,
      backoff: BACKOFF,
      idempotencyKey,
    },
  };
}

export interface CreatedJob {
  id: number;
  kind: JobKind;
}

/**
 * Creates `count` jobs in batches spread evenly over `spreadMs` (so runners keep long-polling for work that
 * trickles in, as in production, while the faults hit), each batch retried across replicas until created.
 */
export async function createJobs(
  api: ChaosApi,
  runId: string,
  count: number,
  spreadMs: number,
  created: Map<number, CreatedJob>,
  deadline: number,
): Promise<void> {
  const EVERY_MS = 250;
  const batches = Math.max(1, Math.floor(spreadMs / EVERY_MS));
  const size = Math.ceil(count / batches);
  const start = Date.now();
  for (let b = 0, first = 0; first < count; b++, first += size) {
    const delay = start + b * EVERY_MS - Date.now();
    if (delay > 0) await sleep(delay);
    const jobs = Array.from({ length: Math.min(size, count - first) }, (_, k) => jobOf(runId, first + k));
    const answer = await api.call<{ jobs: { id: number }[] }>(
      'POST',
      '/jobs/batch',
      { jobs: jobs.map((j) => j.body) },
      deadline,
    );
    if (answer.status !== 201) {
      throw new Error(`POST /jobs/batch answered ${answer.status}: ${JSON.stringify(answer.body)}`);
    }
    answer.body.jobs.forEach((j, k) => {
      created.set(first + k, { id: j.id, kind: jobs[k]!.kind });
    });
  }
}

export interface CreatedTimer {
  id: number;
  path: string;
  firesAt: number;
}

/**
 * Creates `count` webhook timers to `receiverUrl` over `spreadMs`, four requests at a time, firing 3 s to
 * `maxDelaySeconds` after creation, so that deliveries fall among the faults. One in ten goes to a path that
 * answers 500 to the first delivery of each idempotency key (retried after the default 5 s backoff).
 */
export async function createTimers(
  api: ChaosApi,
  runId: string,
  receiverUrl: string,
  count: number,
  spreadMs: number,
  maxDelaySeconds: number,
  created: Map<number, CreatedTimer>,
  deadline: number,
): Promise<void> {
  const start = Date.now();
  let nextIndex = 0;
  const worker = async () => {
    for (let i = nextIndex++; i < count; i = nextIndex++) {
      const delay = start + (i * spreadMs) / count - Date.now();
      if (delay > 0) await sleep(delay);
      const path = i % 10 === 9 ? '/flaky' : '/ok';
      const seconds = 3 + (i % Math.max(1, maxDelaySeconds - 2));
      const answer = await api.call<{ id: number }>(
        'POST',
        '/timers',
        {
          seconds,
          url: `${receiverUrl}${path}`,
          payload: { i },
          // Spare attempts, as for jobs: a kill or the outage can cost one.
          maxAttempts: 6,
          idempotencyKey: `chaos-${runId}-timer-${i}`,
        },
        deadline,
      );
      if (answer.status !== 201 && answer.status !== 200) {
        throw new Error(`POST /timers answered ${answer.status}: ${JSON.stringify(answer.body)}`);
      }
      created.set(i, { id: answer.body.id, path, firesAt: Date.now() + seconds * 1000 });
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
}
