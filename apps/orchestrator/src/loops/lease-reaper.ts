import type { Logger } from 'pino';
import type { JobLifecycle } from '../lifecycle/job-lifecycle.js';
import { type Metrics, recordFinished } from '../metrics.js';
import type { JobWaiters } from '../services/job-waiters.js';
import type { ReadySignal } from '../services/ready-signal.js';
import { IntervalLoop } from './interval-loop.js';

const BATCH = 500;

/** Expired lease → TIMED_OUT → retry or dead letter, in one transaction per batch. */
export function leaseReaper(
  lifecycle: JobLifecycle,
  signal: ReadySignal,
  waiters: JobWaiters,
  everyMs: number,
  log: Logger,
  metrics: Metrics,
) {
  return new IntervalLoop(
    'lease-reaper',
    everyMs,
    async () => {
      for (;;) {
        const { reaped, retries, cancelledDependents } = await lifecycle.reapExpired(BATCH);
        if (reaped.length > 0) {
          log.warn({ executions: reaped.map((r) => r.id) }, 'leases expired: executions timed out');
          metrics.leaseExpiries.inc(reaped.length);
          recordFinished(metrics, reaped);
        }
        signal.announce(retries.filter((r) => r.ready).map((r) => r.scheduled_for.getTime()));
        // The reaped executions no longer count against their queues' concurrency limits: claimers waiting on a
        // full queue can take their room now, not at the safety net's next tick.
        if (reaped.length > 0) signal.announce([0]);
        // Requests waiting for these jobs to end (GET /jobs/{id}?wait=): a dead letter, or a dependent a dead letter
        // cancelled, ends its job now, not at the waiters' safety net.
        waiters.changed([...reaped.map((r) => r.job_id), ...cancelledDependents]);
        if (reaped.length < BATCH) return;
      }
    },
    log,
  );
}
