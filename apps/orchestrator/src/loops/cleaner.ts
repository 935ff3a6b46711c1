import type { Logger } from 'pino';
import { CLEAN_TARGETS, type JobLifecycle } from '../lifecycle/job-lifecycle.js';
import type { Metrics } from '../metrics.js';
import type { Retention } from '../queue/clean-history.js';
import { IntervalLoop } from './interval-loop.js';

/** A round stops starting new batches after this long; what is left waits for the next round. */
const ROUND_BUDGET_MS = 5_000;

/**
 * Retention (issue 12): every `everyMs`, deletes what has expired, one kind after the other (jobs with their
 * history, recurring jobs' old executions and occurrences, OFFLINE runners), `batch` rows per statement, oldest
 * first, until a kind has nothing left or the round's budget is spent. Safe in every replica at once (each statement
 * takes its rows with SKIP LOCKED); small batches keep locks and statements short, and nothing is rewritten.
 */
export function cleaner(
  lifecycle: JobLifecycle,
  retention: Retention,
  opts: { everyMs: number; batch: number },
  log: Logger,
  metrics: Metrics,
) {
  return new IntervalLoop(
    'cleaner',
    opts.everyMs,
    async () => {
      const until = Date.now() + ROUND_BUDGET_MS;
      const deleted: Record<string, number> = {};
      for (const kind of CLEAN_TARGETS) {
        deleted[kind] = 0;
        for (;;) {
          const n = await lifecycle.cleanExpired(kind, retention, opts.batch);
          deleted[kind] += n;
          if (n > 0) metrics.retentionDeleted.inc({ kind }, n);
          if (n < opts.batch || Date.now() >= until) break;
        }
      }
      log.debug({ deleted }, 'retention round');
    },
    log,
  );
}
